// Drives @snazzah/davey (OpenMLS) DAVE sessions for daveserver's cross-check test: one JSON
// request per stdin line, one JSON reply per stdout line. Byte fields are base64. The module is
// loaded from the directory in DAVEY_DIR (test/interop/davey, where .ci/run installs it).
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import path from 'node:path';

const require = createRequire(path.join(process.env.DAVEY_DIR, 'package.json'));
const { DAVESession } = require('@snazzah/davey');

const sessions = new Map();
const b64 = (b) => (b ? Buffer.from(b).toString('base64') : '');
const buf = (s) => Buffer.from(s || '', 'base64');

function handle(req) {
  const s = sessions.get(req.user);
  switch (req.op) {
    case 'new': {
      const n = new DAVESession(1, req.user, req.channel);
      sessions.set(req.user, n);
      return { kp: b64(n.getSerializedKeyPackage()) };
    }
    case 'reinit':
      s.reinit(1, req.user, req.channel);
      return { kp: b64(s.getSerializedKeyPackage()) };
    case 'sender':
      s.setExternalSender(buf(req.data));
      return {};
    case 'proposals': {
      const r = s.processProposals(req.optype, buf(req.data), req.recognized);
      return { commit: b64(r.commit), welcome: b64(r.welcome) };
    }
    case 'commit':
      s.processCommit(buf(req.data));
      return {};
    case 'welcome':
      s.processWelcome(buf(req.data));
      return {};
    case 'state':
      return {
        epoch: s.epoch === null ? -1 : Number(s.epoch),
        status: s.status,
        ready: s.ready,
        auth: b64(s.getEpochAuthenticator()),
        users: s.getUserIds(),
        leaf: s.ownLeafIndex,
      };
    case 'encrypt':
      return { data: b64(s.encryptOpus(buf(req.data))) };
    case 'decrypt':
      return { data: b64(s.decrypt(req.from, 0, buf(req.data))) };
  }
  throw new Error('unknown op ' + req.op);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let reply;
  try {
    reply = { ok: true, ...handle(JSON.parse(line)) };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
});
rl.on('close', () => process.exit(0));
