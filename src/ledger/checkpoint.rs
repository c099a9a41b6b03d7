//! Signed checkpoints of the revocation ledger: C2SP transparency-log checkpoints
//! carried in C2SP signed notes ([`crate::note`]).
//!
//! Pure format code: text in, typed values out; no I/O, no clock.
//!
//! # Specifications followed
//!
//! * `c2sp.org/tlog-checkpoint`: the checkpoint body (§Note text), signed as a note.
//!
//! The note format, the keys and the verification rules are in [`crate::note`]; its
//! names are re-exported here.

pub use crate::note::{
    parse_note, parse_note_bytes, sign_note, verify_note, KeyId, Note, NoteError, NoteSignature,
    NoteSigner, NoteVerifier, VerifiedNote, MAX_NOTE_LEN, MAX_SIGNATURES, MAX_VKEY_LEN,
    P256_SPKI_LEN, P256_SPKI_PREFIX, SIG_TYPE_ECDSA,
};

use crate::jose::{b64_decode, b64_encode};

// ---------------------------------------------------------------------------------------
// Checkpoint bodies (c2sp.org/tlog-checkpoint §Note text)
// ---------------------------------------------------------------------------------------

/// A transparency-log checkpoint: the note text of c2sp.org/tlog-checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity: non-empty, no control characters (it SHOULD be a schema-less
    /// URL without spaces or `+`, but the spec forbids assuming so; spaces are accepted).
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 / RFC 9162 Merkle tree root hash at `size`.
    pub root: [u8; 32],
    /// Opaque extension lines, each non-empty, without the newline.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: [u8; 32]) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Checks the lines a caller may have set: the origin and the extensions must be
    /// non-empty and free of ASCII control characters (newline included).
    pub fn validate(&self) -> Result<(), CheckpointError> {
        check_body_line(&self.origin, 1)?;
        for (i, ext) in self.extensions.iter().enumerate() {
            check_body_line(ext, i + 4)?;
        }
        Ok(())
    }

    /// The note text: origin, decimal size, base64 root, then the extension lines, each
    /// ending in a newline (tlog-checkpoint §Note text).
    ///
    /// Only a checkpoint that passes [`Checkpoint::validate`] gives a body that
    /// [`Checkpoint::parse_body`] accepts; [`sign_checkpoint`] validates first.
    pub fn to_body(&self) -> String {
        let mut out = String::with_capacity(
            self.origin.len() + 66 + self.extensions.iter().map(|e| e.len() + 1).sum::<usize>(),
        );
        out.push_str(&self.origin);
        out.push('\n');
        out.push_str(&self.size.to_string());
        out.push('\n');
        out.push_str(&b64_encode(self.root));
        out.push('\n');
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint body strictly (tlog-checkpoint §Note text): at least three
    /// non-empty lines, each ending in a newline; a decimal size without sign or leading
    /// zeros (`0` alone for the empty tree); the canonical base64 of exactly 32 bytes;
    /// no ASCII control characters other than the newlines.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_NOTE_LEN {
            return Err(CheckpointError::TooLarge {
                size: text.len(),
                max: MAX_NOTE_LEN,
            });
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingTrailingNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { found: lines.len() });
        }
        for (i, line) in lines.iter().enumerate() {
            check_body_line(line, i + 1)?;
        }
        let origin = lines[0].to_owned();
        let size = parse_size(lines[1])?;
        let root = parse_root(lines[2])?;
        let extensions = lines[3..].iter().map(|l| (*l).to_owned()).collect();
        Ok(Self {
            origin,
            size,
            root,
            extensions,
        })
    }
}

fn check_body_line(line: &str, number: usize) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyLine { line: number });
    }
    if line.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter { line: number });
    }
    Ok(())
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::InvalidSize);
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(CheckpointError::SizeLeadingZero);
    }
    line.parse().map_err(|_| CheckpointError::InvalidSize)
}

fn parse_root(line: &str) -> Result<[u8; 32], CheckpointError> {
    let bytes = b64_decode(line).map_err(|_| CheckpointError::RootEncoding)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| CheckpointError::RootLength { found: bytes.len() })
}

/// Why a checkpoint body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Over the size cap; nothing was parsed.
    #[error("the checkpoint is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The last line does not end in a newline.
    #[error("the checkpoint does not end in a newline")]
    MissingTrailingNewline,
    /// Fewer than the origin, size and root lines.
    #[error("a checkpoint has at least 3 lines, found {found}")]
    TooFewLines {
        /// Lines found.
        found: usize,
    },
    /// A line (origin, size, root or extension) is empty.
    #[error("line {line} of the checkpoint is empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A line holds an ASCII control character.
    #[error("line {line} of the checkpoint contains a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// The size is not a decimal number that fits in 64 bits.
    #[error("the tree size is not an unsigned decimal number that fits in 64 bits")]
    InvalidSize,
    /// The size has leading zeros.
    #[error("the tree size has a leading zero")]
    SizeLeadingZero,
    /// The root hash is not canonical standard base64.
    #[error("the root hash is not canonical base64")]
    RootEncoding,
    /// The root hash is not 32 bytes.
    #[error("the root hash is 32 bytes, found {found}")]
    RootLength {
        /// Length decoded.
        found: usize,
    },
}

// ---------------------------------------------------------------------------------------
// Signed checkpoints
// ---------------------------------------------------------------------------------------

/// Signs a checkpoint: validates it, then signs its body as a note.
///
/// tlog-checkpoint §Signatures: the log's key name SHOULD match the origin line; that is
/// left to the caller, who names the signer.
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    signer: &NoteSigner,
) -> Result<String, SignedCheckpointError> {
    checkpoint.validate()?;
    Ok(sign_note(&checkpoint.to_body(), signer)?)
}

/// A checkpoint from a signed note that [`verify_note`] accepted, with the expected origin.
///
/// Only [`open_checkpoint`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
}

impl VerifiedCheckpoint {
    /// The verified checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The verified note it came from.
    pub fn note(&self) -> &VerifiedNote {
        &self.note
    }

    /// The checkpoint, by value.
    pub fn into_checkpoint(self) -> Checkpoint {
        self.checkpoint
    }
}

/// Verifies a signed checkpoint, parses its body, and checks that its origin is `origin`
/// (the log the caller expects: a key may sign for more than one log).
pub fn open_checkpoint(
    note: &str,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<VerifiedCheckpoint, SignedCheckpointError> {
    let note = verify_note(note, verifiers)?;
    let checkpoint = Checkpoint::parse_body(note.text())?;
    if checkpoint.origin != origin {
        return Err(SignedCheckpointError::OriginMismatch {
            expected: origin.to_owned(),
            found: checkpoint.origin,
        });
    }
    Ok(VerifiedCheckpoint { checkpoint, note })
}

/// Why a checkpoint could not be signed, or a signed checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedCheckpointError {
    /// The note is malformed, unsigned by a known key, or a key failed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The (verified) note text is not a valid checkpoint.
    #[error("the note text is not a valid checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The verified checkpoint is from another log.
    #[error("the checkpoint's origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin expected.
        expected: String,
        /// The origin found.
        found: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::tests::{
        signer, PIXEL_NOTE, PIXEL_VKEY, REKOR_CHECKPOINT_EXT, REKOR_NOTE, REKOR_VKEY,
    };
    use proptest::prelude::*;

    fn root(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn published_ecdsa_notes_verify_with_der_signatures() {
        let rekor = NoteVerifier::from_vkey(REKOR_VKEY).unwrap();
        let pixel = NoteVerifier::from_vkey(PIXEL_VKEY).unwrap();
        let both = [rekor.clone(), pixel.clone()];

        let n = verify_note(REKOR_NOTE, &both).unwrap();
        assert_eq!(
            n.text(),
            "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n"
        );
        assert_eq!(n.verified().len(), 1);
        assert!(n.unverified().is_empty());
        assert_eq!(n.verified()[0].sig[0], 0x30, "a DER SEQUENCE, not raw r||s");

        let cp = open_checkpoint(REKOR_NOTE, "Rekor", &both).unwrap();
        assert_eq!(cp.checkpoint().size, 798034);
        assert!(cp.checkpoint().extensions.is_empty());

        let cp = open_checkpoint(PIXEL_NOTE, "DEFAULT", &both[1..]).unwrap();
        assert_eq!(cp.checkpoint().size, 10);

        // A real Rekor checkpoint with an extension line.
        let origin = "rekor.sigstore.dev - 2605736670972794746";
        let cp = open_checkpoint(REKOR_CHECKPOINT_EXT, origin, &both[..1]).unwrap();
        assert_eq!(cp.checkpoint().size, 21428036);
        assert_eq!(
            cp.checkpoint().extensions,
            ["Timestamp: 1688058656037355364"]
        );
        assert_eq!(cp.checkpoint().to_body(), cp.note().text());

        // Each note fails under the other log's key only (unknown signature).
        assert_eq!(
            verify_note(REKOR_NOTE, &[pixel]).unwrap_err(),
            NoteError::NoKnownSignature
        );
        // The text altered by one character.
        let bad = REKOR_NOTE.replacen("798034", "798035", 1);
        assert!(matches!(
            verify_note(&bad, &both[..1]),
            Err(NoteError::InvalidSignature { .. })
        ));
        // The expected origin is enforced.
        assert!(matches!(
            open_checkpoint(REKOR_NOTE, "rekor.sigstore.dev", &[rekor]),
            Err(SignedCheckpointError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn checkpoint_body_round_trip() {
        let mut cp = Checkpoint::new("example.org/log", 0, root(7));
        assert_eq!(
            cp.to_body(),
            format!("example.org/log\n0\n{}\n", b64_encode(root(7)))
        );
        assert_eq!(Checkpoint::parse_body(&cp.to_body()).unwrap(), cp);
        cp.size = u64::MAX;
        cp.extensions = vec!["ext one".into(), "\u{4e2d}".into()];
        let body = cp.to_body();
        assert!(body.ends_with("ext one\n\u{4e2d}\n"));
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);
    }

    #[test]
    fn signed_checkpoint_round_trip() {
        let s = signer("example.org/log");
        let cp = Checkpoint::new("example.org/log", 12345, root(0xab));
        let note = sign_checkpoint(&cp, &s).unwrap();
        let opened = open_checkpoint(&note, "example.org/log", &[s.verifier()]).unwrap();
        assert_eq!(opened.checkpoint(), &cp);
        assert_eq!(opened.into_checkpoint(), cp);

        let bad = Checkpoint::new("two\nlines", 1, root(0));
        assert_eq!(
            sign_checkpoint(&bad, &s).unwrap_err(),
            SignedCheckpointError::Checkpoint(CheckpointError::ControlCharacter { line: 1 })
        );
        let mut bad = Checkpoint::new("o", 1, root(0));
        bad.extensions.push(String::new());
        assert_eq!(
            sign_checkpoint(&bad, &s).unwrap_err(),
            SignedCheckpointError::Checkpoint(CheckpointError::EmptyLine { line: 4 })
        );
        // A signed note whose text is not a checkpoint.
        let note = sign_note("hello\n", &s).unwrap();
        assert_eq!(
            open_checkpoint(&note, "hello", &[s.verifier()]).unwrap_err(),
            SignedCheckpointError::Checkpoint(CheckpointError::TooFewLines { found: 1 })
        );
    }

    #[test]
    fn malformed_checkpoint_bodies_are_rejected() {
        use CheckpointError as E;
        let r = b64_encode(root(1));
        let cases: Vec<(String, CheckpointError)> = vec![
            (format!("o\n1\n{r}"), E::MissingTrailingNewline),
            (String::new(), E::MissingTrailingNewline),
            ("\n".into(), E::TooFewLines { found: 1 }),
            ("o\n1\n".into(), E::TooFewLines { found: 2 }),
            (format!("\n1\n{r}\n"), E::EmptyLine { line: 1 }),
            (format!("o\n\n{r}\n"), E::EmptyLine { line: 2 }),
            ("o\n1\n\n".into(), E::EmptyLine { line: 3 }),
            (format!("o\n1\n{r}\n\n"), E::EmptyLine { line: 4 }),
            (format!("o\n1\n{r}\next\n\n"), E::EmptyLine { line: 5 }),
            (format!("o\r\n1\n{r}\n"), E::ControlCharacter { line: 1 }),
            (
                format!("o\n1\n{r}\ne\tx\n"),
                E::ControlCharacter { line: 4 },
            ),
            (format!("o\n01\n{r}\n"), E::SizeLeadingZero),
            (format!("o\n00\n{r}\n"), E::SizeLeadingZero),
            (format!("o\n+1\n{r}\n"), E::InvalidSize),
            (format!("o\n-1\n{r}\n"), E::InvalidSize),
            (format!("o\n 1\n{r}\n"), E::InvalidSize),
            (format!("o\n1.0\n{r}\n"), E::InvalidSize),
            (format!("o\n0x1\n{r}\n"), E::InvalidSize),
            (format!("o\n\u{661}\n{r}\n"), E::InvalidSize),
            (format!("o\n18446744073709551616\n{r}\n"), E::InvalidSize),
            (
                format!("o\n1\n{}\n", r.trim_end_matches('=')),
                E::RootEncoding,
            ),
            (
                format!("o\n1\n{}\n", b64_encode([0xffu8; 32]).replace('/', "_")),
                E::RootEncoding,
            ),
            (format!("o\n1\n {r}\n"), E::RootEncoding),
            // A hex root happens to be valid base64, of the wrong length.
            (format!("o\n1\n{}\n", hex32()), E::RootLength { found: 48 }),
            (
                format!("o\n1\n{}\n", b64_encode([1u8; 31])),
                E::RootLength { found: 31 },
            ),
            (
                format!("o\n1\n{}\n", b64_encode([1u8; 33])),
                E::RootLength { found: 33 },
            ),
            (
                format!("o\n1\n{}\n", b64_encode([1u8; 64])),
                E::RootLength { found: 64 },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                Checkpoint::parse_body(&input).unwrap_err(),
                want,
                "{input:?}"
            );
        }
        // Non-canonical trailing bits of the root: 32 bytes leave 2 unused bits.
        let mut chars: Vec<char> = r.chars().collect();
        let last = chars.len() - 2;
        assert_eq!(chars[last], 'E', "root(1) ends in ...AQE=");
        chars[last] = 'F';
        let bad: String = chars.into_iter().collect();
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n1\n{bad}\n")).unwrap_err(),
            E::RootEncoding
        );
        // Accepted edge cases: size 0, max u64, origin with spaces and '+'.
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n0\n{r}\n"))
                .unwrap()
                .size,
            0
        );
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n18446744073709551615\n{r}\n"))
                .unwrap()
                .size,
            u64::MAX
        );
        assert_eq!(
            Checkpoint::parse_body(&format!("a b+c\n1\n{r}\n"))
                .unwrap()
                .origin,
            "a b+c"
        );
        let huge = "a".repeat(MAX_NOTE_LEN + 1);
        assert!(matches!(
            Checkpoint::parse_body(&huge),
            Err(E::TooLarge { .. })
        ));
    }

    fn hex32() -> String {
        "ab".repeat(32)
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_strings(s in "\\PC*|[\\x00-\\x7f\u{2014}+=/ ]{0,64}") {
            let _ = parse_note(&s);
            let _ = Checkpoint::parse_body(&s);
            let _ = NoteVerifier::from_vkey(&s);
            let _ = verify_note(&s, &[]);
            let _ = open_checkpoint(&s, "o", &[]);
        }

        #[test]
        fn parsers_never_panic_on_bytes(b in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_note_bytes(&b);
            if let Ok(s) = std::str::from_utf8(&b) {
                let _ = Checkpoint::parse_body(s);
                let _ = NoteVerifier::from_vkey(s);
            }
        }

        #[test]
        fn checkpoints_round_trip(
            origin in "[^\\x00-\\x1f]{1,20}",
            size in any::<u64>(),
            root in any::<[u8; 32]>(),
            extensions in prop::collection::vec("[^\\x00-\\x1f]{1,10}", 0..3),
        ) {
            let cp = Checkpoint { origin, size, root, extensions };
            prop_assert!(cp.validate().is_ok());
            prop_assert_eq!(Checkpoint::parse_body(&cp.to_body()).unwrap(), cp);
        }
    }
}
