//! Installs the process-wide rustls crypto provider (ring) once; reqwest, gix and octocrab all need it.

/// Safe to call many times and from tests; only the first call installs.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
