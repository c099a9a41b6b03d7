//! Where SD-JWT salts come from (RFC 9901 §9.3: 128 bits from a CSPRNG): the operating
//! system's generator directly, or through a pool that fetches it 4 KiB at a time.
//!
//! Each pooled byte is handed out once and then zeroed.

use ring::rand::SecureRandom;

/// Where salts come from: the operating system's CSPRNG, directly or through a pool.
pub trait SaltSource {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomnessError>;
}

impl SaltSource for ring::rand::SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomnessError> {
        SecureRandom::fill(self, buf).map_err(|_| RandomnessError)
    }
}

/// OS randomness fetched 4 KiB at a time and handed out once each (then zeroed): one
/// `getrandom` call serves about thirty licences' salts instead of one.
pub struct RandomPool {
    inner: std::sync::Mutex<PoolState>,
    rng: ring::rand::SystemRandom,
}

impl Default for RandomPool {
    fn default() -> Self {
        Self {
            inner: std::sync::Mutex::default(),
            rng: ring::rand::SystemRandom::new(),
        }
    }
}

#[derive(Default)]
struct PoolState {
    buf: Vec<u8>,
    pos: usize,
}

impl std::fmt::Debug for RandomPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RandomPool([random bytes elided])")
    }
}

const POOL_LEN: usize = 4096;

impl SaltSource for RandomPool {
    fn fill(&self, out: &mut [u8]) -> Result<(), RandomnessError> {
        if out.len() > POOL_LEN / 4 {
            return SaltSource::fill(&self.rng, out);
        }
        let mut st = self.inner.lock().map_err(|_| RandomnessError)?;
        if st.buf.len() != POOL_LEN || POOL_LEN - st.pos < out.len() {
            st.buf.resize(POOL_LEN, 0);
            SaltSource::fill(&self.rng, &mut st.buf)?;
            st.pos = 0;
        }
        let start = st.pos;
        let chunk = &mut st.buf[start..start + out.len()];
        out.copy_from_slice(chunk);
        zeroize::Zeroize::zeroize(chunk);
        st.pos += out.len();
        Ok(())
    }
}

/// The system random source failed (or the pool's lock was poisoned by a panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random source failed")]
pub struct RandomnessError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_bytes_are_handed_out_once() {
        let pool = RandomPool::default();
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        pool.fill(&mut a).unwrap();
        pool.fill(&mut b).unwrap();
        assert_ne!(a, b);
        // Larger requests go straight to the system generator.
        let mut big = vec![0u8; POOL_LEN];
        pool.fill(&mut big).unwrap();
        assert!(big.iter().any(|&x| x != 0));
        assert_eq!(format!("{pool:?}"), "RandomPool([random bytes elided])");
    }
}
