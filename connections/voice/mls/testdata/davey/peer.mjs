import { DAVESession, ProposalsOperationType } from '@snazzah/davey';
import readline from 'node:readline';
const sessions = {};
const rl = readline.createInterface({ input: process.stdin });
const b = (s) => Buffer.from(s, 'base64');
rl.on('line', (line) => {
  const m = JSON.parse(line);
  let out = {};
  try {
    const s = sessions[m.id];
    switch (m.cmd) {
      case 'new': sessions[m.id] = new DAVESession(1, m.user, m.channel); break;
      case 'ext': s.setExternalSender(b(m.data)); break;
      case 'kp': out.data = s.getSerializedKeyPackage().toString('base64'); break;
      case 'props': {
        const r = s.processProposals(m.op, b(m.data), m.users);
        out.commit = r.commit ? r.commit.toString('base64') : null;
        out.welcome = r.welcome ? r.welcome.toString('base64') : null;
        break;
      }
      case 'commit': s.processCommit(b(m.data)); break;
      case 'welcome': s.processWelcome(b(m.data)); break;
      case 'auth': out.epoch = Number(s.epoch); out.data = Buffer.from(s.getEpochAuthenticator()).toString('base64'); out.leaf = s.ownLeafIndex; break;
    }
  } catch (e) { out.error = String(e && e.message || e); }
  process.stdout.write(JSON.stringify(out) + '\n');
});
