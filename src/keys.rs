//! The key store on disk (`keys/` by default).
//!
//! ```text
//! keys/root.crt.pem                 root CA certificate (public)
//! keys/root.key.pem                 root CA private key, PKCS#8, mode 0600
//! keys/agencies/<USCC>.crt.pem      agency issuer certificate (public)
//! keys/agencies/<USCC>.key.pem      agency issuer private key, PKCS#8, mode 0600
//! ```
//!
//! Keys are created with `create_new` and mode 0600 in one step, flushed to disk, and
//! never overwritten. Loading a private key that others can read is refused, as ssh does.

use crate::jose::Es256Signer;
use crate::licence::codes::Uscc;
use crate::pki::{self, AgencyIdentity, IssuerInfo, TrustStore};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Root certificate file name.
pub const ROOT_CERT: &str = "root.crt.pem";
/// Root key file name.
pub const ROOT_KEY: &str = "root.key.pem";
/// Directory of agency certificates and keys.
pub const AGENCIES: &str = "agencies";
/// The ledger's checkpoint signing key (PKCS#8, 0600).
pub const LEDGER_KEY: &str = "ledger.key.pem";
/// The ledger's public verifier key, C2SP vkey text.
pub const LEDGER_VKEY: &str = "ledger.vkey";

/// A key store directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

/// An agency's signing material: its key, certificate and what the certificate says.
#[derive(Debug)]
pub struct AgencyKey {
    /// The signing key (never printed).
    pub signer: Es256Signer,
    /// The issuer certificate, DER.
    pub cert_der: Vec<u8>,
    /// What the certificate says.
    pub info: IssuerInfo,
}

impl KeyStore {
    /// The key store in `dir` (not created until something is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn agency_path(&self, code: &Uscc, ext: &str) -> PathBuf {
        self.dir.join(AGENCIES).join(format!("{code}.{ext}"))
    }

    /// Whether a root CA exists.
    pub fn has_root(&self) -> bool {
        self.dir.join(ROOT_CERT).exists()
    }

    /// Creates the root CA. Refuses if one exists.
    pub fn init_root(
        &self,
        name: &str,
        now: OffsetDateTime,
        years: u16,
    ) -> Result<IssuedCert, KeyStoreError> {
        let cert_path = self.dir.join(ROOT_CERT);
        let key_path = self.dir.join(ROOT_KEY);
        for p in [&cert_path, &key_path] {
            if p.exists() {
                return Err(KeyStoreError::Exists { path: p.clone() });
            }
        }
        let not_after = add_years(now, years)
            .filter(|_| years > 0)
            .ok_or(KeyStoreError::Years { years })?;
        let g = pki::generate_root(name, now, not_after).map_err(KeyStoreError::Pki)?;
        create_dir(&self.dir)?;
        write_new(&key_path, g.key_pem.as_bytes(), 0o600)?;
        write_new(&cert_path, g.cert_pem.as_bytes(), 0o644)?;
        Ok(IssuedCert {
            cert_path,
            kid: pki::kid_b64(&g.cert_der),
        })
    }

    /// Creates an agency issuer certificate and key under the root. Refuses if the agency
    /// already has one.
    pub fn add_agency(
        &self,
        agency: &AgencyIdentity,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCert, KeyStoreError> {
        let cert_path = self.agency_path(&agency.code, "crt.pem");
        let key_path = self.agency_path(&agency.code, "key.pem");
        for p in [&cert_path, &key_path] {
            if p.exists() {
                return Err(KeyStoreError::Exists { path: p.clone() });
            }
        }
        let root_der = self.root_cert_der()?;
        let root_key = read_secret(&self.dir.join(ROOT_KEY))?;
        let g = pki::generate_issuer(agency, &root_der, &root_key, not_before, not_after)
            .map_err(KeyStoreError::Pki)?;
        create_dir(&self.dir.join(AGENCIES))?;
        write_new(&key_path, g.key_pem.as_bytes(), 0o600)?;
        write_new(&cert_path, g.cert_pem.as_bytes(), 0o644)?;
        Ok(IssuedCert {
            cert_path,
            kid: pki::kid_b64(&g.cert_der),
        })
    }

    /// The root certificate, DER.
    pub fn root_cert_der(&self) -> Result<Vec<u8>, KeyStoreError> {
        read_cert(&self.dir.join(ROOT_CERT))
    }

    /// The agencies with a certificate here, by code.
    pub fn agencies(&self) -> Result<Vec<(Vec<u8>, IssuerInfo)>, KeyStoreError> {
        let dir = self.dir.join(AGENCIES);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(KeyStoreError::Io {
                    path: dir,
                    source: e,
                })
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| KeyStoreError::Io {
                path: dir.clone(),
                source: e,
            })?;
            let path = entry.path();
            if path.to_string_lossy().ends_with(".crt.pem") {
                let der = read_cert(&path)?;
                let info = pki::read_issuer(&der).map_err(|e| KeyStoreError::BadCertificate {
                    path: path.clone(),
                    source: e,
                })?;
                out.push((der, info));
            }
        }
        out.sort_by(|a, b| a.1.agency.code.as_str().cmp(b.1.agency.code.as_str()));
        Ok(out)
    }

    /// Loads an agency's signing key and certificate.
    pub fn agency_key(&self, code: &Uscc) -> Result<AgencyKey, KeyStoreError> {
        let cert_path = self.agency_path(code, "crt.pem");
        if !cert_path.exists() {
            return Err(KeyStoreError::NoAgency {
                code: code.to_string(),
                dir: self.dir.clone(),
            });
        }
        let cert_der = read_cert(&cert_path)?;
        let info = pki::read_issuer(&cert_der).map_err(|e| KeyStoreError::BadCertificate {
            path: cert_path.clone(),
            source: e,
        })?;
        let key_path = self.agency_path(code, "key.pem");
        let pem = read_secret(&key_path)?;
        let der = pem_decode_secret(&pem, "PRIVATE KEY").ok_or_else(|| KeyStoreError::BadKey {
            path: key_path.clone(),
        })?;
        let signer = Es256Signer::from_pkcs8(&der).map_err(|_| KeyStoreError::BadKey {
            path: key_path.clone(),
        })?;
        if signer.public_key() != info.public_key {
            return Err(KeyStoreError::KeyMismatch { path: key_path });
        }
        Ok(AgencyKey {
            signer,
            cert_der,
            info,
        })
    }

    /// The ledger's checkpoint signer for log `origin`, created (key 0600, vkey beside
    /// it) on first use.
    pub fn ledger_signer(&self, origin: &str) -> Result<crate::note::NoteSigner, KeyStoreError> {
        use crate::note::NoteSigner;
        let key_path = self.dir.join(LEDGER_KEY);
        if !key_path.exists() {
            let (signer, der) =
                NoteSigner::generate(origin).map_err(|_| KeyStoreError::BadKey {
                    path: key_path.clone(),
                })?;
            create_dir(&self.dir)?;
            let pem = zeroize::Zeroizing::new(pem_encode(&der, "PRIVATE KEY"));
            write_new(&key_path, pem.as_bytes(), 0o600)?;
            write_new(
                &self.dir.join(LEDGER_VKEY),
                format!("{}\n", signer.verifier_key()).as_bytes(),
                0o644,
            )?;
            return Ok(signer);
        }
        let pem = read_secret(&key_path)?;
        let der = pem_decode_secret(&pem, "PRIVATE KEY").ok_or_else(|| KeyStoreError::BadKey {
            path: key_path.clone(),
        })?;
        NoteSigner::from_pkcs8(origin, &der).map_err(|_| KeyStoreError::BadKey { path: key_path })
    }

    /// The ledger's public verifier key, if the ledger key exists.
    pub fn ledger_verifier(&self) -> Result<Option<crate::note::NoteVerifier>, KeyStoreError> {
        let path = self.dir.join(LEDGER_VKEY);
        match fs::read_to_string(&path) {
            Ok(text) => crate::note::NoteVerifier::from_vkey(text.trim())
                .map(Some)
                .map_err(|_| KeyStoreError::NotPem {
                    path,
                    label: "C2SP vkey",
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KeyStoreError::Io { path, source: e }),
        }
    }

    /// A trust store of this root and its agencies' certificates.
    pub fn trust_store(&self) -> Result<TrustStore, KeyStoreError> {
        let root = self.root_cert_der()?;
        let issuers = self.agencies()?.into_iter().map(|(der, _)| der).collect();
        TrustStore::new(vec![root], issuers).map_err(|e| KeyStoreError::BadCertificate {
            path: self.dir.join(ROOT_CERT),
            source: e,
        })
    }
}

/// A certificate just written.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Where it was written.
    pub cert_path: PathBuf,
    /// Its kid.
    pub kid: String,
}

/// Adds whole years (29 February becomes 28 February); `None` past year 9999.
pub fn add_years(t: OffsetDateTime, years: u16) -> Option<OffsetDateTime> {
    let y = t.year() + i32::from(years);
    t.replace_year(y)
        .or_else(|_| t.replace_day(28).and_then(|t| t.replace_year(y)))
        .ok()
}

fn create_dir(dir: &Path) -> Result<(), KeyStoreError> {
    fs::create_dir_all(dir).map_err(|e| KeyStoreError::Io {
        path: dir.to_owned(),
        source: e,
    })
}

/// Writes a new file with `mode` in one step (never wider permissions, never overwriting),
/// then syncs it and its directory, so it is on disk when this returns.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyStoreError> {
    let io = |e| KeyStoreError::Io {
        path: path.to_owned(),
        source: e,
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyStoreError::Exists {
                path: path.to_owned(),
            }
        } else {
            io(e)
        }
    })?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    // A bare file name's parent is "": the working directory.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn read_cert(path: &Path) -> Result<Vec<u8>, KeyStoreError> {
    let text = fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            KeyStoreError::Missing {
                path: path.to_owned(),
            }
        } else {
            KeyStoreError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    pem_decode(&text, "CERTIFICATE").ok_or_else(|| KeyStoreError::NotPem {
        path: path.to_owned(),
        label: "CERTIFICATE",
    })
}

/// Reads a private key file, refusing one that group or others can read. The file is
/// opened once and its mode checked on the open handle, so it cannot be swapped between
/// the check and the read.
pub fn read_secret(path: &Path) -> Result<zeroize::Zeroizing<String>, KeyStoreError> {
    use std::io::Read as _;
    let io = |e| KeyStoreError::Io {
        path: path.to_owned(),
        source: e,
    };
    let file = fs::File::open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyStoreError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    file.take(64 * 1024).read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

/// Decodes the first PEM block with `label` into a buffer that is zeroed when dropped
/// (for private keys).
pub fn pem_decode_secret(text: &str, label: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body = zeroize::Zeroizing::new(
        text[start..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
    );
    crate::jose::b64_decode(&body)
        .ok()
        .map(zeroize::Zeroizing::new)
}

/// Decodes the first PEM block with `label`.
pub fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::jose::b64_decode(&body).ok()
}

/// Encodes DER as PEM.
pub fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = crate::jose::b64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A key store problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Refusing to overwrite.
    #[error("{} already exists; keys are never overwritten (move it away first if you really mean to replace it)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file that should be there is not.
    #[error("{} not found; run `elicense init` to create the root CA", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// No such agency.
    #[error("no agency with code {code} in {}; create it with `elicense agency add --name … --code {code}`", dir.display())]
    NoAgency {
        /// Its code.
        code: String,
        /// The key store.
        dir: PathBuf,
    },
    /// A private key readable by others.
    #[error("{} has mode {mode:o}: a private key must not be readable by others; run `chmod 600 {}`", path.display(), path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// Not PEM.
    #[error("{} has no PEM {label} block", path.display())]
    NotPem {
        /// The file.
        path: PathBuf,
        /// The expected label.
        label: &'static str,
    },
    /// Not a usable P-256 PKCS#8 key.
    #[error("{} is not a P-256 PKCS#8 private key", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
    },
    /// Key and certificate do not match.
    #[error("{} does not match the agency certificate beside it", path.display())]
    KeyMismatch {
        /// The key file.
        path: PathBuf,
    },
    /// An unusable certificate.
    #[error("{} is not a usable certificate", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: pki::ChainError,
    },
    /// Generation failed.
    #[error("could not generate a certificate: {0}")]
    Pki(#[source] pki::PkiError),
    /// A validity that cannot be.
    #[error("a validity of {years} years is not possible; choose 1 to 50")]
    Years {
        /// What was asked.
        years: u16,
    },
    /// Any other I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn init_add_load_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::new(dir.path());
        let now = OffsetDateTime::now_utc();
        ks.init_root("Test Root", now, 20).unwrap();
        let mode = fs::metadata(dir.path().join(ROOT_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let root_before = fs::read(dir.path().join(ROOT_KEY)).unwrap();
        assert!(matches!(
            ks.init_root("Again", now, 20),
            Err(KeyStoreError::Exists { .. })
        ));
        assert_eq!(fs::read(dir.path().join(ROOT_KEY)).unwrap(), root_before);

        let agency = AgencyIdentity {
            name: "示例市市场监督管理局".into(),
            code: Uscc::parse("91350100M000100Y43").unwrap(),
            issuer_uri: "https://elicense.example/agencies/91350100M000100Y43".into(),
        };
        ks.add_agency(&agency, now, add_years(now, 5).unwrap())
            .unwrap();
        assert!(matches!(
            ks.add_agency(&agency, now, add_years(now, 5).unwrap()),
            Err(KeyStoreError::Exists { .. })
        ));
        let key = ks.agency_key(&agency.code).unwrap();
        assert_eq!(key.info.agency, agency);
        assert!(!format!("{key:?}").contains("PRIVATE"));
        assert_eq!(ks.agencies().unwrap().len(), 1);
        ks.trust_store().unwrap();

        // A world-readable key is refused with the fix in the message.
        let kp = dir.path().join(AGENCIES).join("91350100M000100Y43.key.pem");
        fs::set_permissions(&kp, fs::Permissions::from_mode(0o644)).unwrap();
        let e = ks.agency_key(&agency.code).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }

    #[test]
    fn pem_round_trip() {
        let der = b"\x30\x03\x02\x01\x05".to_vec();
        assert_eq!(
            pem_decode(&pem_encode(&der, "CERTIFICATE"), "CERTIFICATE").unwrap(),
            der
        );
        assert!(pem_decode("nothing", "CERTIFICATE").is_none());
    }
}
