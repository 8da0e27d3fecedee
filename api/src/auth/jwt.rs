//! Signed access tokens (JWT) with the accepted algorithms pinned.
//!
//! Tokens issued by this service are HS256, signed with a shared secret kept
//! in the data directory (see [`load_or_create_secret`]). Optionally, tokens
//! from an external identity provider are accepted too, verified with that
//! provider's public key: RS256 for an RSA key, EdDSA for an Ed25519 key.
//!
//! The algorithm in a token's header only selects which of those two keys is
//! used; each key is only ever used with its own algorithm, so a token cannot
//! pick `none`, another algorithm, or use the public key as an HMAC secret.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Shortest shared secret accepted for HS256, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Roles a token may carry.
pub const ROLES: [&str; 4] = ["ADMIN", "EDITOR", "PARTNER", "PROFESSIONAL"];

/// Name of the secret file inside the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// Bytes of randomness in a newly created secret file.
const NEW_SECRET_LEN: usize = 64;

/// Largest secret file read, in bytes.
const MAX_SECRET_FILE_LEN: u64 = 4096;

/// Smallest RSA modulus accepted for an identity provider's key, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Claims carried by an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the account id.
    pub sub: String,
    /// Role: one of [`ROLES`] (`"ADMIN"`, `"EDITOR"`, `"PARTNER"` or `"PROFESSIONAL"`).
    pub role: String,
    /// Organisation id, for editors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Token id, unique per issued token (used for revocation).
    pub jti: String,
    /// Display name of the account holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Not valid before, seconds since the Unix epoch.
    pub nbf: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
}

/// Why a key could not be set up, or a token could not be issued or verified.
///
/// Messages never contain the token, the secret or any claim value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The shared secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("jwt secret must be at least {MIN_SECRET_LEN} bytes")]
    SecretTooShort,
    /// The identity provider's public key could not be used.
    #[error("invalid identity provider public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The token lifetime is zero or too large.
    #[error("invalid token lifetime")]
    InvalidLifetime,
    /// The role is not one of [`ROLES`].
    #[error("unknown role")]
    UnknownRole,
    /// The token could not be signed.
    #[error("could not sign token")]
    Signing,
    /// The token is not a well-formed JWT, or its claims have the wrong shape.
    #[error("malformed token")]
    Malformed,
    /// The token's algorithm is not one this service accepts.
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// The signature does not match the token.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token has expired.
    #[error("token has expired")]
    Expired,
    /// The token is not valid yet (`nbf` in the future).
    #[error("token is not yet valid")]
    NotYetValid,
    /// The token was issued by someone else.
    #[error("invalid token issuer")]
    InvalidIssuer,
    /// The token is meant for another audience.
    #[error("invalid token audience")]
    InvalidAudience,
    /// A required registered claim is missing.
    #[error("token is missing the {0} claim")]
    MissingClaim(String),
    /// The token was rejected for another reason.
    #[error("invalid token")]
    Invalid,
}

/// Keys and expectations for issuing and verifying access tokens.
pub struct JwtKeys {
    issuer: String,
    audience: String,
    hmac_encoding: EncodingKey,
    hmac_decoding: DecodingKey,
    hmac_validation: Validation,
    external: Option<ExternalKey>,
}

/// The identity provider's public key, pinned to its algorithm.
struct ExternalKey {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "external_algorithm",
                &self.external.as_ref().map(|e| e.algorithm),
            )
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Sets up HS256 with `secret` (at least [`MIN_SECRET_LEN`] bytes) and,
    /// when `public_key_pem` is given, an identity provider's public key in
    /// PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`): RSA (at least 2048 bits) is
    /// verified as RS256, Ed25519 as EdDSA.
    ///
    /// Tokens of either kind must carry `iss` = `issuer` and
    /// `aud` = `audience`.
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        public_key_pem: Option<&str>,
    ) -> Result<Self, JwtError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(JwtError::SecretTooShort);
        }
        let external = match public_key_pem {
            Some(pem) => {
                let (algorithm, key) = parse_public_key(pem)?;
                Some(ExternalKey {
                    algorithm,
                    key,
                    validation: validation(algorithm, issuer, audience),
                })
            }
            None => None,
        };
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            hmac_encoding: EncodingKey::from_secret(secret),
            hmac_decoding: DecodingKey::from_secret(secret),
            hmac_validation: validation(Algorithm::HS256, issuer, audience),
            external,
        })
    }

    /// The algorithm accepted for identity provider tokens, if one is configured.
    pub fn external_algorithm(&self) -> Option<Algorithm> {
        self.external.as_ref().map(|e| e.algorithm)
    }

    /// Issues an HS256 token for `sub` valid from now for `lifetime`, and
    /// returns it with its expiry (whole seconds, equal to the `exp` claim).
    ///
    /// `role` must be one of [`ROLES`]; `org` and `name` are left out of the
    /// token when `None`.
    pub fn issue(
        &self,
        sub: &str,
        role: &str,
        org: Option<&str>,
        name: Option<&str>,
        jti: &str,
        lifetime: Duration,
    ) -> Result<(String, DateTime<Utc>), JwtError> {
        if !ROLES.contains(&role) {
            return Err(JwtError::UnknownRole);
        }
        if lifetime.is_zero() {
            return Err(JwtError::InvalidLifetime);
        }
        let now = Utc::now();
        let expiry = TimeDelta::from_std(lifetime)
            .ok()
            .and_then(|delta| now.checked_add_signed(delta))
            .ok_or(JwtError::InvalidLifetime)?;
        let exp = expiry.timestamp();
        let expiry = DateTime::from_timestamp(exp, 0).ok_or(JwtError::InvalidLifetime)?;
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.to_owned(),
            org: org.map(str::to_owned),
            jti: jti.to_owned(),
            name: name.map(str::to_owned),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp,
            nbf: now.timestamp(),
            iat: now.timestamp(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.hmac_encoding)
                .map_err(|_| JwtError::Signing)?;
        Ok((token, expiry))
    }

    /// Verifies `token` and returns its claims.
    ///
    /// Accepts only HS256 checked with the shared secret, or the identity
    /// provider's algorithm checked with its public key. `exp`, `nbf`, `iss`
    /// and `aud` are required and checked (with [`LEEWAY_SECS`] of clock
    /// skew), and `role` must be one of [`ROLES`].
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(map_error)?;
        // No extension is understood, so a token that marks one critical is refused (RFC 7515 4.1.11).
        if header.crit.is_some() {
            return Err(JwtError::Invalid);
        }
        let (key, validation) = match (header.alg, &self.external) {
            (Algorithm::HS256, _) => (&self.hmac_decoding, &self.hmac_validation),
            (alg, Some(external)) if alg == external.algorithm => {
                (&external.key, &external.validation)
            }
            _ => return Err(JwtError::UnsupportedAlgorithm),
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(map_error)?;
        if !ROLES.contains(&data.claims.role.as_str()) {
            return Err(JwtError::UnknownRole);
        }
        Ok(data.claims)
    }
}

/// Validation for one algorithm: `exp`, `nbf`, `iss` and `aud` required and checked.
fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation
}

/// Maps a library error to one that says nothing about the token's content.
fn map_error(error: jsonwebtoken::errors::Error) -> JwtError {
    match error.kind() {
        ErrorKind::InvalidSignature => JwtError::InvalidSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::InvalidIssuer,
        ErrorKind::InvalidAudience => JwtError::InvalidAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" | "nbf" | "iss" | "aud" | "sub" => JwtError::MissingClaim(claim.clone()),
            _ => JwtError::Invalid,
        },
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName => JwtError::UnsupportedAlgorithm,
        ErrorKind::InvalidToken
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => JwtError::Malformed,
        _ => JwtError::Invalid,
    }
}

/// Reads an identity provider's public key and picks its algorithm from the key type.
fn parse_public_key(pem: &str) -> Result<(Algorithm, DecodingKey), JwtError> {
    let label = pem_label(pem).ok_or(JwtError::InvalidPublicKey("not a pem document"))?;
    if label.contains("PRIVATE") {
        return Err(JwtError::InvalidPublicKey(
            "expected a public key, found a private key",
        ));
    }
    if label != "PUBLIC KEY" && label != "RSA PUBLIC KEY" {
        return Err(JwtError::InvalidPublicKey(
            "expected a pem public key (BEGIN PUBLIC KEY)",
        ));
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        let der = key
            .try_get_as_bytes()
            .map_err(|_| JwtError::InvalidPublicKey("unreadable rsa key"))?;
        let bits = rsa_modulus_bits(der).ok_or(JwtError::InvalidPublicKey("unreadable rsa key"))?;
        if bits < MIN_RSA_BITS {
            return Err(JwtError::InvalidPublicKey(
                "rsa key must be at least 2048 bits",
            ));
        }
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem.as_bytes()) {
        let raw = key
            .try_get_as_bytes()
            .map_err(|_| JwtError::InvalidPublicKey("unreadable ed25519 key"))?;
        if raw.len() != 32 {
            return Err(JwtError::InvalidPublicKey("unreadable ed25519 key"));
        }
        return Ok((Algorithm::EdDSA, key));
    }
    Err(JwtError::InvalidPublicKey(
        "key must be an rsa or ed25519 public key",
    ))
}

/// The label of the first PEM block (`PUBLIC KEY` in `-----BEGIN PUBLIC KEY-----`).
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = pem.get(start..)?;
    let end = rest.find("-----")?;
    rest.get(..end)
}

/// Bit length of the modulus of a PKCS#1 `RSAPublicKey` (DER).
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let (tag, body, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, modulus, rest) = der_element(body)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, _exponent, _) = der_element(rest)?;
    if tag != 0x02 {
        return None;
    }
    let first = modulus.iter().position(|&b| b != 0)?;
    let significant = modulus.get(first..)?;
    let top = *significant.first()?;
    Some((significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// Splits one DER element off `input`: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = rest.get(..count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(count..)?)
    };
    let contents = rest.get(..len)?;
    Some((tag, contents, rest.get(len..)?))
}

/// Reads the HS256 secret from `data_dir/jwt-secret`, creating the file with
/// 64 random bytes if it does not exist yet (and `data_dir` if needed).
///
/// A new file is written under a temporary name with mode 0600 (on unix) set
/// before any byte is written, synced, and then hard-linked into place, so
/// the secret appears whole or not at all and a concurrent creator never
/// overwrites it. The bytes of an existing file are used verbatim; it must
/// hold at least [`MIN_SECRET_LEN`] bytes and, on unix, must not be
/// accessible by group or others.
pub fn load_or_create_secret(data_dir: &Path) -> io::Result<Vec<u8>> {
    let path = data_dir.join(SECRET_FILE);
    match read_secret(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    std::fs::create_dir_all(data_dir)?;
    let mut secret = vec![0u8; NEW_SECRET_LEN];
    getrandom::fill(&mut secret)
        .map_err(|e| io::Error::other(format!("could not generate a jwt secret: {e}")))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix)
        .map_err(|e| io::Error::other(format!("could not generate a jwt secret: {e}")))?;
    let tmp = data_dir.join(format!(
        ".{SECRET_FILE}.{}.{:016x}.tmp",
        std::process::id(),
        u64::from_le_bytes(suffix)
    ));
    let created = write_new_file(&tmp, &secret).and_then(|()| std::fs::hard_link(&tmp, &path));
    // The temporary name is only a staging point: the link (if made) keeps the content.
    let _ = std::fs::remove_file(&tmp);
    match created {
        Ok(()) => {
            sync_dir(data_dir);
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_secret(&path),
        Err(e) => Err(e),
    }
}

/// Reads an existing secret file, checking its permissions and size.
fn read_secret(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("jwt secret {} is not a regular file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "jwt secret file {} is accessible by group or others (mode {mode:03o}); restrict it with chmod 600",
                    path.display()
                ),
            ));
        }
    }
    let mut secret = Vec::with_capacity(NEW_SECRET_LEN);
    file.take(MAX_SECRET_FILE_LEN + 1)
        .read_to_end(&mut secret)?;
    if secret.len() < MIN_SECRET_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "jwt secret file {} holds fewer than {MIN_SECRET_LEN} bytes",
                path.display()
            ),
        ));
    }
    if secret.len() as u64 > MAX_SECRET_FILE_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "jwt secret file {} is larger than {MAX_SECRET_FILE_LEN} bytes",
                path.display()
            ),
        ));
    }
    Ok(secret)
}

/// Creates `path` (which must not exist) owner-only, then writes and syncs `contents`.
fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options.open(path).and_then(|mut file| {
        #[cfg(unix)]
        {
            // The umask can only clear bits; set 0600 exactly before writing anything.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents)?;
        file.sync_all()
    });
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Makes a new directory entry durable, where the platform allows (best effort).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-secret";
    const ISSUER: &str = "https://signpost.test";
    const AUDIENCE: &str = "signpost-api";
    const HOUR: Duration = Duration::from_secs(3600);

    // Test-only keys, generated with
    // `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` and
    // `openssl genpkey -algorithm ed25519` (public halves via `openssl pkey -pubout`).
    const RSA_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDjKVw/hgijSqlD
G1QC3VzbeE6m0RUW/47Vp+kb2QRTfyJmZfCV+g2Q9ezhEN5L6fCX8/lL8fSIkQSO
/ZlfopnEqTZK1PqT+HDNi6U/tkfaQlcdT2U6M9zbv/EPWkpEk4YbvhRxxBv3+XSR
IR7ejksAdehrljdVrcNVHYqIzF2cvjR6VeswLGHvpoL8GYIs+MVLD9BblWESgjGa
Vfg8VMiQ//ERDvpZc/biwq68b1+od+eiiNz9OgEnWjuo0OM6KaBiUDm/6S22sP8y
p4u+0YYO39GV8nSE2OgoITOWIW/BH884Mqq9iucsUk/M4qmTTNPadUIDgswvcebj
VdBeLiNlAgMBAAECggEALqWM45+AsRVxDg5z0TXHLms1TXSkXcljOZUGHZmSFZpH
BFt9DLMhK4oQl0P5PgH/TZjEMdfw1MVguAM0Bkszw8pSk4nKHe4XreG18JAcD6Ht
VR+7Y/kH6pku5W3vT8cydApzlMwGSUTQrsesGNwD40eTD1q0qLOqp5UOIFrFA105
fe+5FnTLgLW3eQwhPPOXTMwBkDJXi08KyKfBtEjcIMaE12sm9991KYEMX3NNC+Ce
V5R+2Ilgp9d0CaG1qA7KCNDFw2aTbQXnEUm0JWSk3QzxpveP/R2vfUhtMVnb6bEt
k93aDXqhYaXoB3yXSoSbIP5eupa4WetbVKZI1ryjMQKBgQD5Qj30Da7E92ThBjQt
hVUSDn7r4ioxkxfS9jG5tzYzOvIp8yDTjK4+/X1gXggzXDei1RW+1NlH8wmEl4of
b237FUr2Zh60hMVXDEyAVkziYVGcdMShSBrsp7bnS8eBjCOCbBEDpyVhH3hFYAno
vZDrBLTmJzGrSoKwKmksFetjFQKBgQDpTiCI1/jnS5lpyqVu9h65LbGvZwVfX910
O5L7Sfj5B81O7xjV33pFCxG1vx1mK5/UL4JMlhX4jMNY0tvhpbw6mNCKbgUHKHNa
IovFnh41NerLscFiLHXWbWiZyGXrThkoIDxrO05mUfR5TzFuTIlGCd5JV86io6oO
tpKqYOoTEQKBgCikcnGe4YZgSGSgnFVnzi05i9xubi7TKylM12LOytmjnOTWLd4Q
rEC9GHpkGrY1LSUx1W/eSOeAa2bhRrZFdwtft29hy1Pn6j19VeP/Ll4jPClkqMMb
fLhlyF8Cbi9jaE7VzBhqYp/pf7TgKf13G3AWvmBgt6qUZabP44I6uLzZAoGAcwyB
4rmOFpEjQBYcapGYKP0tiC+naJbfn/fYzW53BmcgiXJCrwUbSHzi6Nsr5jxQ/tPG
z3mbsAvKMT0aDTYrkkHVZM5IUHVUHPi4MGV+xAKonHY1xPHj0i/1yxAVomnK4gyz
frWqPa7gfgndeGTptM4c/dH9JhrLO6IwxTAxfeECgYEAiT6tvfhhopN8jD6NqfxZ
pCuRpP495+Sd2VAtcz/y5KalM55sSx0nwMrxZWrfu513gNFjjWpN6dT7JV/yJaDQ
U8QxuTr+chRlY751KWTP0XhKddVkmQ7JNaueYcYOeMPcrz2WuXsVSVydabMcaRCQ
r1WMiZB8wr7RSN+Fpq5bJtw=
-----END PRIVATE KEY-----
";
    const RSA_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4ylcP4YIo0qpQxtUAt1c
23hOptEVFv+O1afpG9kEU38iZmXwlfoNkPXs4RDeS+nwl/P5S/H0iJEEjv2ZX6KZ
xKk2StT6k/hwzYulP7ZH2kJXHU9lOjPc27/xD1pKRJOGG74UccQb9/l0kSEe3o5L
AHXoa5Y3Va3DVR2KiMxdnL40elXrMCxh76aC/BmCLPjFSw/QW5VhEoIxmlX4PFTI
kP/xEQ76WXP24sKuvG9fqHfnoojc/ToBJ1o7qNDjOimgYlA5v+kttrD/MqeLvtGG
Dt/RlfJ0hNjoKCEzliFvwR/PODKqvYrnLFJPzOKpk0zT2nVCA4LML3Hm41XQXi4j
ZQIDAQAB
-----END PUBLIC KEY-----
";
    const ED_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOrQ++dldUYfbmm2Rp4akfT0NeJ8QmrKozBO+EJImR1M
-----END PRIVATE KEY-----
";
    const ED_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAF57gKsZak5RvJPNoGkD/bFlJbAxSWtvICMmhrMYiVK0=
-----END PUBLIC KEY-----
";

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET, ISSUER, AUDIENCE, None).unwrap()
    }

    fn now() -> i64 {
        Utc::now().timestamp()
    }

    fn claims(exp: i64, nbf: i64) -> Claims {
        Claims {
            sub: "account-1".into(),
            role: "EDITOR".into(),
            org: Some("org-1".into()),
            jti: "jti-1".into(),
            name: Some("Sam".into()),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp,
            nbf,
            iat: nbf,
        }
    }

    fn valid_claims() -> Claims {
        claims(now() + 600, now())
    }

    fn sign<T: Serialize>(alg: Algorithm, claims: &T, key: &EncodingKey) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
    }

    fn hs256<T: Serialize>(claims: &T) -> String {
        sign(Algorithm::HS256, claims, &EncodingKey::from_secret(SECRET))
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes the payload segment without verifying anything.
    fn payload(token: &str) -> serde_json::Value {
        let segment = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let (token, expiry) = keys
            .issue(
                "account-1",
                "EDITOR",
                Some("org-1"),
                Some("Sam"),
                "jti-1",
                HOUR,
            )
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, "account-1");
        assert_eq!(claims.role, "EDITOR");
        assert_eq!(claims.org.as_deref(), Some("org-1"));
        assert_eq!(claims.name.as_deref(), Some("Sam"));
        assert_eq!(claims.jti, "jti-1");
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp, expiry.timestamp());
        assert!((claims.exp - claims.iat - 3600).abs() <= 1);
        assert!(claims.nbf <= now() && claims.iat <= now());
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn none_fields_are_left_out() {
        let keys = keys();
        let (token, _) = keys
            .issue("account-2", "ADMIN", None, None, "jti-2", HOUR)
            .unwrap();
        let body = payload(&token);
        assert!(body.get("org").is_none());
        assert!(body.get("name").is_none());
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.org, None);
        assert_eq!(claims.name, None);
        assert_eq!(claims.role, "ADMIN");
    }

    #[test]
    fn short_secret_is_refused() {
        let err = JwtKeys::new(&[7u8; 31], ISSUER, AUDIENCE, None).unwrap_err();
        assert_eq!(err, JwtError::SecretTooShort);
        assert!(JwtKeys::new(&[7u8; 32], ISSUER, AUDIENCE, None).is_ok());
    }

    #[test]
    fn issue_refuses_unknown_role_and_bad_lifetime() {
        let keys = keys();
        assert_eq!(
            keys.issue("a", "ROOT", None, None, "j", HOUR).unwrap_err(),
            JwtError::UnknownRole
        );
        assert_eq!(
            keys.issue("a", "ADMIN", None, None, "j", Duration::ZERO)
                .unwrap_err(),
            JwtError::InvalidLifetime
        );
        assert_eq!(
            keys.issue("a", "ADMIN", None, None, "j", Duration::MAX)
                .unwrap_err(),
            JwtError::InvalidLifetime
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let token = hs256(&claims(now() - 120, now() - 3600));
        assert_eq!(keys().verify(&token).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn expiry_within_leeway_is_accepted() {
        let token = hs256(&claims(now() - 10, now() - 3600));
        assert!(keys().verify(&token).is_ok());
    }

    #[test]
    fn not_yet_valid_token_is_refused() {
        let token = hs256(&claims(now() + 3600, now() + 120));
        assert_eq!(keys().verify(&token).unwrap_err(), JwtError::NotYetValid);
    }

    #[test]
    fn wrong_audience_is_refused() {
        let other = JwtKeys::new(SECRET, ISSUER, "another-api", None).unwrap();
        let (token, _) = other.issue("a", "ADMIN", None, None, "j", HOUR).unwrap();
        assert_eq!(
            keys().verify(&token).unwrap_err(),
            JwtError::InvalidAudience
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let other = JwtKeys::new(SECRET, "https://elsewhere.test", AUDIENCE, None).unwrap();
        let (token, _) = other.issue("a", "ADMIN", None, None, "j", HOUR).unwrap();
        assert_eq!(keys().verify(&token).unwrap_err(), JwtError::InvalidIssuer);
    }

    #[test]
    fn missing_registered_claims_are_refused() {
        for claim in ["exp", "nbf", "iss", "aud"] {
            let mut body = serde_json::to_value(valid_claims()).unwrap();
            body.as_object_mut().unwrap().remove(claim);
            let token = hs256(&body);
            assert!(
                keys().verify(&token).is_err(),
                "token without {claim} accepted"
            );
        }
    }

    #[test]
    fn unknown_role_in_token_is_refused() {
        let mut body = valid_claims();
        body.role = "ROOT".into();
        assert_eq!(
            keys().verify(&hs256(&body)).unwrap_err(),
            JwtError::UnknownRole
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64(&serde_json::to_vec(&valid_claims()).unwrap());
        let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(RSA_PUBLIC_PEM)).unwrap();
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            let err = keys.verify(&token).unwrap_err();
            assert!(!err.to_string().contains(&body));
        }
        let header = b64(br#"{"alg":"None","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn other_algorithms_are_refused() {
        let body = valid_claims();
        let secret = EncodingKey::from_secret(SECRET);
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = sign(alg, &body, &secret);
            assert_eq!(
                keys().verify(&token).unwrap_err(),
                JwtError::UnsupportedAlgorithm
            );
        }
        // RS256 without a configured provider key.
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, &body, &rsa);
        assert_eq!(
            keys().verify(&token).unwrap_err(),
            JwtError::UnsupportedAlgorithm
        );
        // RS256 (and PS256) when the provider key is Ed25519.
        let ed_keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(ED_PUBLIC_PEM)).unwrap();
        assert_eq!(
            ed_keys.verify(&token).unwrap_err(),
            JwtError::UnsupportedAlgorithm
        );
        let rsa_keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(RSA_PUBLIC_PEM)).unwrap();
        let ps = sign(Algorithm::PS256, &body, &rsa);
        assert_eq!(
            rsa_keys.verify(&ps).unwrap_err(),
            JwtError::UnsupportedAlgorithm
        );
    }

    #[test]
    fn public_key_as_hmac_secret_is_refused() {
        for pem in [RSA_PUBLIC_PEM, ED_PUBLIC_PEM] {
            let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(pem)).unwrap();
            let forged = sign(
                Algorithm::HS256,
                &valid_claims(),
                &EncodingKey::from_secret(pem.as_bytes()),
            );
            assert_eq!(
                keys.verify(&forged).unwrap_err(),
                JwtError::InvalidSignature
            );
            let trimmed = sign(
                Algorithm::HS256,
                &valid_claims(),
                &EncodingKey::from_secret(pem.trim().as_bytes()),
            );
            assert_eq!(
                keys.verify(&trimmed).unwrap_err(),
                JwtError::InvalidSignature
            );
        }
    }

    #[test]
    fn rs256_from_identity_provider_verifies() {
        let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(RSA_PUBLIC_PEM)).unwrap();
        assert_eq!(keys.external_algorithm(), Some(Algorithm::RS256));
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, &valid_claims(), &rsa);
        assert_eq!(keys.verify(&token).unwrap(), valid_claims_like(&token));
        // Our own HS256 tokens still verify alongside.
        let (own, _) = keys.issue("a", "ADMIN", None, None, "j", HOUR).unwrap();
        assert!(keys.verify(&own).is_ok());
        // Provider tokens are held to the same checks.
        let expired = sign(Algorithm::RS256, &claims(now() - 120, now() - 3600), &rsa);
        assert_eq!(keys.verify(&expired).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn eddsa_from_identity_provider_verifies() {
        let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(ED_PUBLIC_PEM)).unwrap();
        assert_eq!(keys.external_algorithm(), Some(Algorithm::EdDSA));
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE_PEM.as_bytes()).unwrap();
        let token = sign(Algorithm::EdDSA, &valid_claims(), &ed);
        assert_eq!(keys.verify(&token).unwrap(), valid_claims_like(&token));
        let mut body = valid_claims();
        body.aud = "another-api".into();
        let wrong_aud = sign(Algorithm::EdDSA, &body, &ed);
        assert_eq!(
            keys.verify(&wrong_aud).unwrap_err(),
            JwtError::InvalidAudience
        );
    }

    /// The claims in `token`'s payload, to compare with what `verify` returns.
    fn valid_claims_like(token: &str) -> Claims {
        serde_json::from_value(payload(token)).unwrap()
    }

    #[test]
    fn bad_public_keys_are_refused() {
        for pem in [
            "",
            "not a pem",
            RSA_PRIVATE_PEM,
            ED_PRIVATE_PEM,
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(
                    JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(pem)),
                    Err(JwtError::InvalidPublicKey(_))
                ),
                "accepted {pem:?}"
            );
        }
        // A P-256 key is neither RSA nor Ed25519.
        let p256 = "-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFcrs3l8nNKlRMiyQDT6TnE4xoxOY\n\
DtvaS47AxmzQafmBa8lZiJQNLS5DBO2e9WBNCFGOqn5Qbaf2mq8MRqSQVw==\n\
-----END PUBLIC KEY-----\n";
        assert!(matches!(
            JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(p256)),
            Err(JwtError::InvalidPublicKey(_))
        ));
    }

    #[test]
    fn pkcs1_rsa_public_key_is_accepted() {
        let pkcs1 = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA4ylcP4YIo0qpQxtUAt1c23hOptEVFv+O1afpG9kEU38iZmXwlfoN
kPXs4RDeS+nwl/P5S/H0iJEEjv2ZX6KZxKk2StT6k/hwzYulP7ZH2kJXHU9lOjPc
27/xD1pKRJOGG74UccQb9/l0kSEe3o5LAHXoa5Y3Va3DVR2KiMxdnL40elXrMCxh
76aC/BmCLPjFSw/QW5VhEoIxmlX4PFTIkP/xEQ76WXP24sKuvG9fqHfnoojc/ToB
J1o7qNDjOimgYlA5v+kttrD/MqeLvtGGDt/RlfJ0hNjoKCEzliFvwR/PODKqvYrn
LFJPzOKpk0zT2nVCA4LML3Hm41XQXi4jZQIDAQAB
-----END RSA PUBLIC KEY-----
";
        let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(pkcs1)).unwrap();
        assert_eq!(keys.external_algorithm(), Some(Algorithm::RS256));
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, &valid_claims(), &rsa);
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn weak_rsa_key_is_refused() {
        let rsa_1024 = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDSH6gLxu7rlEPIfOF92EBbSsbh
XM2QVewEfheeo97B3QFDBGjZH/vVUdZTims4/neliZL6dw4WGk0hwPR6Wu3RKHl6
26etCQkJr13rgibG1LJW6zmYTDae8G6eJ09IMX7CJALPvXivd7g2N9i6lpMg+g+7
JdHjNrZa9tQAtqUPDwIDAQAB
-----END PUBLIC KEY-----
";
        assert_eq!(
            JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(rsa_1024)).unwrap_err(),
            JwtError::InvalidPublicKey("rsa key must be at least 2048 bits")
        );
    }

    #[test]
    fn tampered_provider_token_is_refused() {
        let keys = JwtKeys::new(SECRET, ISSUER, AUDIENCE, Some(RSA_PUBLIC_PEM)).unwrap();
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, &valid_claims(), &rsa);
        let parts: Vec<&str> = token.split('.').collect();
        let mut body = payload(&token);
        body["role"] = "ADMIN".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_vec(&body).unwrap()),
            parts[2]
        );
        assert_eq!(
            keys.verify(&forged).unwrap_err(),
            JwtError::InvalidSignature
        );
    }

    #[test]
    fn tampered_payload_is_refused() {
        let keys = keys();
        let (token, _) = keys
            .issue("account-1", "PARTNER", None, None, "j", HOUR)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut body = payload(&token);
        body["role"] = "ADMIN".into();
        let forged_body = b64(&serde_json::to_vec(&body).unwrap());
        let forged = format!("{}.{}.{}", parts[0], forged_body, parts[2]);
        assert_eq!(
            keys.verify(&forged).unwrap_err(),
            JwtError::InvalidSignature
        );
    }

    #[test]
    fn tampered_signature_is_refused() {
        let keys = keys();
        let (token, _) = keys.issue("a", "ADMIN", None, None, "j", HOUR).unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
        sig[0] ^= 1;
        let forged = format!("{message}.{}", b64(&sig));
        assert_eq!(
            keys.verify(&forged).unwrap_err(),
            JwtError::InvalidSignature
        );
        assert!(keys.verify(&format!("{message}.")).is_err());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let keys = keys();
        for token in ["", "abc", "a.b", "a.b.c", "...", "e30.e30.", "e30.e30.e30"] {
            assert!(keys.verify(token).is_err(), "accepted {token:?}");
        }
    }

    #[test]
    fn crit_header_is_refused() {
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["b64".into()]);
        let token =
            jsonwebtoken::encode(&header, &valid_claims(), &EncodingKey::from_secret(SECRET))
                .unwrap();
        assert_eq!(keys().verify(&token).unwrap_err(), JwtError::Invalid);
    }

    #[test]
    fn messages_hide_token_and_secret() {
        let keys = keys();
        let (token, _) = keys.issue("a", "ADMIN", None, None, "j", HOUR).unwrap();
        let tampered = format!("{token}x");
        let err = keys.verify(&tampered).unwrap_err().to_string();
        assert!(!err.contains(&tampered) && !err.contains(&token));
        assert_eq!(err, err.to_lowercase());
        assert!(!err.ends_with('.'));
        let debug = format!("{keys:?}");
        assert!(!debug.contains("0123456789abcdef"));
    }

    /// A fresh directory under the system temporary directory, removed on drop.
    struct TestDir(std::path::PathBuf);

    impl TestDir {
        fn new() -> Self {
            let mut suffix = [0u8; 8];
            getrandom::fill(&mut suffix).unwrap();
            let path = std::env::temp_dir().join(format!(
                "signpost-jwt-test-{}-{:016x}",
                std::process::id(),
                u64::from_le_bytes(suffix)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn secret_file_is_created_once_and_reused() {
        let dir = TestDir::new();
        let data_dir = dir.0.join("data");
        let first = load_or_create_secret(&data_dir).unwrap();
        assert_eq!(first.len(), NEW_SECRET_LEN);
        let second = load_or_create_secret(&data_dir).unwrap();
        assert_eq!(first, second);
        assert_eq!(std::fs::read(data_dir.join(SECRET_FILE)).unwrap(), first);
        // Nothing but the secret file is left behind.
        let names: Vec<_> = std::fs::read_dir(&data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(SECRET_FILE)]);
        assert!(JwtKeys::new(&first, ISSUER, AUDIENCE, None).is_ok());
        let other = TestDir::new();
        assert_ne!(load_or_create_secret(&other.0).unwrap(), first);
    }

    #[cfg(unix)]
    #[test]
    fn secret_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new();
        load_or_create_secret(&dir.0).unwrap();
        let path = dir.0.join(SECRET_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn secret_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new();
        let secret = load_or_create_secret(&dir.0).unwrap();
        let path = dir.0.join(SECRET_FILE);
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load_or_create_secret(&dir.0).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
            assert!(err.to_string().contains("chmod 600"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(load_or_create_secret(&dir.0).unwrap(), secret);
    }

    #[test]
    fn short_secret_file_is_refused() {
        let dir = TestDir::new();
        write_new_file(&dir.0.join(SECRET_FILE), b"too short").unwrap();
        let err = load_or_create_secret(&dir.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(!err.to_string().contains("too short"));
    }
}
