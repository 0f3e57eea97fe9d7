#!/usr/bin/env node
// Entry point of the `whoismesh` command. The sources are TypeScript, run through tsx's loader so
// that `npm install` alone makes the command work (no build step to forget).
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
