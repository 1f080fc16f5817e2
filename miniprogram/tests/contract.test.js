/**
 * Contract with the backend: every call in services/endpoints.js exists in the OpenAPI
 * document the backend generates (scripts/test dumps it first), no code calls a path
 * outside that table, and the client's value names are the API's.
 */
const fs = require('fs')
const path = require('path')
const openapi = require('./helpers/openapi')
const { ROOT } = require('./helpers/page')

const api = openapi.load()

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : [full]
  })
}

/** A component schema by model name (pydantic prefixes the module when two models share one). */
function schema(name, module) {
  const schemas = api.document.components.schemas
  if (schemas[name]) return schemas[name]
  const key = Object.keys(schemas).find(k => k.endsWith(`__${name}`) && (!module || k.includes(module)))
  return schemas[key]
}

/** The enum values of a model's property (through $ref and Optional anyOf). */
function enumOf(model, property, module) {
  let node = schema(model, module).properties[property]
  const seen = []
  const collect = n => {
    if (!n) return
    if (n.$ref) collect(schema(n.$ref.split('/').pop()))
    if (n.enum) seen.push(...n.enum)
    if (n.const !== undefined) seen.push(n.const)
    ;(n.anyOf || []).forEach(collect)
    if (n.items) collect(n.items)
  }
  collect(node)
  node = null
  return seen
}

test('the OpenAPI document was dumped by scripts/test', () => {
  expect(api && api.document.openapi).toMatch(/^3\./)
})

test('every endpoint the client calls exists with its method', () => {
  const endpoints = require('../src/services/endpoints')
  const missing = Object.keys(endpoints)
    .map(name => endpoints[name])
    .filter(([method, template]) => !openapi.operation(method, template))
    .map(([method, template]) => `${method} ${template}`)
  expect(missing).toEqual([])
})

test('public endpoints are public and the others need the login', () => {
  const endpoints = require('../src/services/endpoints')
  const wrong = Object.keys(endpoints).filter(name => {
    const [method, template, flags = {}] = endpoints[name]
    const secured = Boolean(openapi.operation(method, template).security)
    return secured === (flags.auth === false)
  })
  expect(wrong).toEqual([])
})

test('uploads are multipart endpoints, JSON calls are not', () => {
  const endpoints = require('../src/services/endpoints')
  Object.keys(endpoints).forEach(name => {
    const [method, template, flags = {}] = endpoints[name]
    const body = openapi.operation(method, template).requestBody
    if (flags.upload) expect(Object.keys(body.content)).toEqual(['multipart/form-data'])
    else if (body) expect(Object.keys(body.content)).toEqual(['application/json'])
  })
})

test('no page, service or utility calls an API path outside the endpoint table', () => {
  const offenders = walk(ROOT)
    .filter(file => file.endsWith('.js') && !file.endsWith(path.join('services', 'endpoints.js')))
    .filter(file => /\/api\/v1/.test(fs.readFileSync(file, 'utf8')))
    .map(file => path.relative(ROOT, file))
  expect(offenders).toEqual([])
})

test("the client's value names are the API's", () => {
  const domain = require('../src/config/domain')
  const subset = (values, allowed) => values.filter(v => allowed.indexOf(v) < 0)
  expect(subset(domain.BASIS_KEYS, enumOf('SubmitIn', 'basis'))).toEqual([])
  expect(Object.keys(domain.UPLOAD_KIND).sort()).toEqual(enumOf('UploadForm', 'kind').sort())
  expect(subset(domain.RELATION_KEYS, enumOf('IdentityIn', 'relation'))).toEqual([])
  expect(domain.DOCUMENT_TYPE_KEYS.slice().sort()).toEqual(enumOf('IdentityIn', 'document_type').sort())
  expect(subset(domain.COMPLAINT_TYPE_KEYS, enumOf('ComplaintIn', 'type'))).toEqual([])
  expect(Object.keys(domain.REGISTRATION_STATUS).sort()).toEqual(enumOf('RegistrationOut', 'status').sort())
  expect(Object.keys(domain.TICKET_STATE).sort()).toEqual(enumOf('TicketOut', 'state', 'registrations').sort())
  expect(subset(domain.SUBMIT_TEMPLATE_KEYS, enumOf('TemplateOut', 'key'))).toEqual([])
  expect(Object.keys(domain.CONSENT_CHANNEL).sort()).toEqual(enumOf('ConsentOut', 'channel').sort())
})

test('which documents a registration needs is read from the API, not kept in the client', () => {
  const domain = require('../src/config/domain')
  expect(domain.BASIS_UPLOADS).toBeUndefined()
  const endpoints = require('../src/services/endpoints')
  expect(endpoints.getRequirements).toEqual(['GET', '/api/v1/registrations/requirements', { auth: false }])
  // The tests' stand-in answer has the response's shape and the API's names.
  const fx = require('./helpers/fixtures')
  const validate = api.ajv.compile({ $ref: 'openapi.json#/components/schemas/RequirementsOut' })
  const answer = fx.requirements()
  expect(validate(answer) ? [] : validate.errors).toEqual([])
  expect(answer.bases.map(b => b.basis).sort()).toEqual(enumOf('SubmitIn', 'basis').sort())
  expect(Object.keys(answer.document_kinds).sort()).toEqual(enumOf('UploadForm', 'kind').sort())
})

test('the fake server refuses what the backend would refuse', () => {
  expect(openapi.check('POST', '/api/v1/registrations', {}, { child_id: 1, school_code: 'LX001', basis: 'hukou', upload_ids: [] }, false)).toEqual([])
  expect(openapi.check('POST', '/api/v1/registrations', {}, { child_id: 1, school_code: 'LX001', basis: 'house' }, false)).toHaveLength(1)
  expect(openapi.check('POST', '/api/v1/registrations', {}, { child_id: 1, school_code: 'LX001', basis: 'hukou', extra: 1 }, false)).toHaveLength(1)
  expect(openapi.check('GET', '/api/v1/schools', { nonsense: '1' }, undefined, false)).toHaveLength(1)
  expect(openapi.check('GET', '/api/v1/nowhere', {}, undefined, false)).toHaveLength(1)
})
