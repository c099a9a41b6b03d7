#!/usr/bin/env python3
"""Writes the seed inputs in seeds/<target>/ from the golden fixtures and TEST-ONLY keys.

Run from tests/fuzz/ after the fixtures change: `python3 make_seeds.py`. Standard
library only. The `verify` seeds are the golden licences themselves, in corpus/verify/.
"""

import base64
import glob
import json
import os
import shutil

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


def licences():
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/licences/*.sdjwt"))):
        name = os.path.basename(path)[: -len(".sdjwt")]
        with open(path) as f:
            yield name, f.read().strip()


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    ids, codes, disclosures = set(), set(), {}
    for name, text in licences():
        jwt, *rest = text.split("~")
        parts = jwt.split(".")
        if name.startswith("valid__") or name.startswith("unsupported_algorithm"):
            write("jws", name + ".jwt", jwt)
            if len(parts) == 3:
                write("jws", name + ".header.json", b64u_decode(parts[0]))
        if rest and rest[-1]:
            write("jws", name + ".kb.jwt", rest[-1])
        if not name.startswith("valid__") or len(parts) != 3:
            continue
        payload = json.loads(b64u_decode(parts[1]))
        ids.add(payload["licence_id"])
        for d in rest[:-1]:
            disclosures.setdefault(d, name)
            item = json.loads(b64u_decode(d))
            if len(item) == 3 and item[1] == "holder_id":
                codes.add(item[2])
        if name == "valid__business_licence":
            # The JSON serializations (RFC 9901 section 8.1) of the same licence.
            header = {"disclosures": rest[:-1]}
            flattened = {"payload": parts[1], "protected": parts[0], "header": header,
                         "signature": parts[2]}
            general = {"payload": parts[1], "signatures": [
                {"protected": parts[0], "header": header, "signature": parts[2]}]}
            write("sdjwt_parse", name + ".flattened.json", json.dumps(flattened))
            write("sdjwt_parse", name + ".general.json", json.dumps(general))
    for i, licence_id in enumerate(sorted(ids)):
        write("licence_id", "id%d" % i, licence_id)
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/keys/**/*.crt.pem"), recursive=True)):
        with open(path) as f:
            pem = f.read()
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        der = base64.b64decode("".join(body.split()))
        rel = os.path.relpath(path, os.path.join(ROOT, "fixtures/keys"))
        write("certificate", rel.replace("/", "_")[: -len(".crt.pem")] + ".der", der)
        if os.path.basename(path)[:18].isalnum() and "agencies" in rel:
            codes.add(os.path.basename(path)[:18])
    for i, code in enumerate(sorted(codes)):
        write("holder_code", "code%d" % i, code)
    for i, (d, _) in enumerate(sorted(disclosures.items())[:12]):
        write("disclosure", "d%d" % i, d)
        # The target also tries every input base64url-encoded: seed the JSON itself.
        write("disclosure", "d%d.json" % i, b64u_decode(d))
    status_list_seeds()
    note_seeds()


def status_list_seeds():
    """The draft's Status List Token, its payload, and its lists' zlib bytes."""
    path = os.path.join(ROOT, "fixtures/vectors/status-list/tsl_examples.json")
    with open(path) as f:
        v = json.load(f)
    token = v["status_list_jwt"]["compact"]
    write("status_list", "draft_token.jwt", token)
    write("status_list", "draft_token.payload.json", b64u_decode(token.split(".")[1]))
    for case in v["cases"]:
        if "lst" in case:
            write("status_list", "lst_%s.zlib" % case["name"], b64u_decode(case["lst"]))


# Published signed notes (the same as in src/ledger/checkpoint.rs's tests): sigstore's
# Rekor and the Pixel transparency log (ECDSA), golang.org/x/mod/sumdb/note (Ed25519).
NOTES = {
    "rekor": "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n\u2014 rekor.sigstore.dev "
    "wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n",
    "pixel": "DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n\u2014 pixel6_transparency_log "
    "kcFuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0cNe47dHWBoPwYdgBCepB06/+g5O1FmYjXl06owL4\n",
    "peter": "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
}
VKEYS = {
    "peter": "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
}


def note_seeds():
    for name, note in NOTES.items():
        write("note", name + ".note", note)
        write("note", name + ".body", note.split("\n\n")[0] + "\n")
    for name, vkey in VKEYS.items():
        write("note", name + ".vkey", vkey)


if __name__ == "__main__":
    main()
