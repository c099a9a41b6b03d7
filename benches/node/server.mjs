// The comparison server of benches/pinned.rs: node:http reads the POST body and verifies it
// as a compact ES256 JWS with jose's compactVerify against one fixed P-256 public key,
// answering a small JSON verdict. No chain, disclosures or status: a plain JWS check.
//
// Environment: JWK_FILE (the public key as a JWK, written by the bench) or JWK (the JWK
// text itself); PORT (0 or unset: any free port). Prints `listening on <port>` when ready.
import http from "node:http";
import { readFileSync } from "node:fs";
import { compactVerify, importJWK } from "jose";

const jwkText = process.env.JWK ?? readFileSync(process.env.JWK_FILE, "utf8");
const key = await importJWK(JSON.parse(jwkText), "ES256");
const decoder = new TextDecoder();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    let body;
    try {
      const jws = Buffer.concat(chunks).toString("utf8").trim();
      const { payload } = await compactVerify(jws, key, { algorithms: ["ES256"] });
      const claims = JSON.parse(decoder.decode(payload));
      body = JSON.stringify({ verdict: "valid", iss: claims.iss ?? null });
    } catch (e) {
      body = JSON.stringify({ verdict: "invalid", reason: String(e.code ?? e.message) });
    }
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
