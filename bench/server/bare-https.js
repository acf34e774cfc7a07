// Baseline (a): the least a node:https admission webhook can do, as in perf.md §2: collect
// the body, JSON.parse, a trivial predicate, JSON.stringify, one write.
// Usage: node bare-https.js <port> <cert.pem> <key.pem>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [port, certFile, keyFile] = process.argv.slice(2);
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 95_000 },
  (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const request = review.request;
        const allowed = !(request.object?.spec?.replicas > 5);
        body = JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: request.uid, allowed },
        });
      } catch {
        body = '{"message":"bad request","status":400}';
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  },
);
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
