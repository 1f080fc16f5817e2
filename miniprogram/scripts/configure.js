#!/usr/bin/env node
/**
 * Copy the AppID from src/config/index.js into project.config.json (WeChat DevTools reads it
 * there). `npm run configure` after editing the config file; a jest test fails when they differ.
 */
const fs = require('fs')
const path = require('path')

const root = path.join(__dirname, '..')
const config = require(path.join(root, 'src/config/index.js'))
const file = path.join(root, 'project.config.json')
const project = JSON.parse(fs.readFileSync(file, 'utf8'))
if (!/^wx[0-9a-f]{16}$/.test(config.appid)) {
  console.error(`src/config/index.js: appid ${JSON.stringify(config.appid)} is not an AppID (wx + 16 hex digits)`)
  process.exit(1)
}
project.appid = config.appid
fs.writeFileSync(file, `${JSON.stringify(project, null, 2)}\n`)
console.log(`project.config.json: appid ${config.appid}; API base URLs: ${JSON.stringify(config.apiBaseUrl)}`)
