#!/usr/bin/env node
// Entry point of the `whoismesh` command: package.json's `bin` runs the compiled dist/cli/bin.js
// (`npm run build`; `prepare` builds it on `npm install` and `npm pack`). The polyfill comes first:
// libp2p must find Promise.withResolvers when its modules are evaluated (see util/polyfill.ts).
import '../util/polyfill.js'
import './main.js'
