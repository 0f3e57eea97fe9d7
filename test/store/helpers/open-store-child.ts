// Run in a child process by the lock test: tries to open the store in argv[2] and prints the
// outcome as one JSON line ({ ok } or { name, message }).
import { NetworkStore } from '../../../src/store/index.js'

const dir = process.argv[2]
try {
  const store = await NetworkStore.open({ dataDir: dir })
  await store.close()
  console.log(JSON.stringify({ ok: true }))
} catch (err) {
  const e = err as Error
  console.log(JSON.stringify({ ok: false, name: e.name, message: e.message }))
}
