/**
 * The backend's OpenAPI document, dumped by scripts/test before jest runs (set
 * OPENAPI_JSON to use another file). Requests the fake server receives are checked against
 * it: the operation exists, query names are declared, JSON bodies validate.
 */
const fs = require('fs')
const path = require('path')
const Ajv2020 = require('ajv/dist/2020')

const DEFAULT_PATH = path.join(__dirname, '../../../test-artifacts/openapi.json')

function documentPath() {
  return process.env.OPENAPI_JSON || DEFAULT_PATH
}

let cached = null

function load() {
  if (cached) return cached
  const file = documentPath()
  if (!fs.existsSync(file)) return null
  const document = JSON.parse(fs.readFileSync(file, 'utf8'))
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema(Object.assign({}, document, { $id: 'openapi.json' }))
  cached = { document, ajv, validators: {} }
  return cached
}

function operation(method, template) {
  const api = load()
  const item = api && api.document.paths[template]
  return item ? item[method.toLowerCase()] || null : null
}

/** Problems with one request against the document (empty when it conforms). */
function check(method, template, query, body, isUpload) {
  const api = load()
  if (!api) return []
  const op = operation(method, template)
  if (!op) return [`${method} ${template} is not in the OpenAPI document`]
  const problems = []
  const declared = (op.parameters || []).filter(p => p.in === 'query').map(p => p.name)
  Object.keys(query || {}).forEach(name => {
    if (declared.indexOf(name) < 0) problems.push(`${method} ${template}: query ${name} is not declared`)
  })
  const content = op.requestBody && op.requestBody.content
  if (isUpload) {
    if (!content || !content['multipart/form-data']) problems.push(`${method} ${template} takes no upload`)
    return problems
  }
  const json = content && content['application/json']
  if (json && body !== undefined) {
    const key = `${method} ${template}`
    if (!api.validators[key]) api.validators[key] = api.ajv.compile(json.schema.$ref
      ? { $ref: `openapi.json${json.schema.$ref}` } : json.schema)
    const validate = api.validators[key]
    if (!validate(body)) {
      problems.push(`${key}: body does not match the schema: ${api.ajv.errorsText(validate.errors)}`)
    }
  }
  return problems
}

module.exports = { load, operation, check, documentPath }
