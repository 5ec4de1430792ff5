//! C2SP signed notes (c2sp.org/signed-note) and their keys.
//!
//! A note is a text ending in a newline, a blank line, then one or more
//! signature lines `— <key name> base64(key id || signature)`. A key is named;
//! its id is the first four bytes of SHA-256(name || "\n" || type || public
//! key), so a verifier picks the lines meant for it by name and id and ignores
//! the others. berth signs its checkpoints with type 0x01 (Ed25519 over the
//! text) and its monitor cosigns with type 0x04 (c2sp.org/tlog-cosignature).
//!
//! Key texts:
//! - verifier key (public): `<name>+<hex id>+base64(type || public key)`;
//! - signer key (secret): `PRIVATE+KEY+<name>+<hex id>+base64(type || seed)`.

use super::{TlogError, b64};
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Signature type of a plain Ed25519 note signature.
pub const ED25519: u8 = 0x01;
/// Signature type of an Ed25519 timestamped cosignature (tlog-cosignature).
pub const COSIGNATURE_V1: u8 = 0x04;

/// Notes berth reads are checkpoints: small. Anything larger is refused
/// before any work is done on it.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// More signature lines than this is refused (a checkpoint has the log's
/// and a few witnesses').
pub const MAX_SIGNATURES: usize = 100;

const DASH: &str = "\u{2014} ";

/// A key name: non-empty, no whitespace and no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(public);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A secret signing key with its name and signature type.
pub struct SignerKey {
    name: String,
    kind: u8,
    key: SigningKey,
}

impl fmt::Debug for SignerKey {
    // Never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({})", self.verifier())
    }
}

impl SignerKey {
    /// A key from a 32-byte seed (made by the caller from a good random source).
    pub fn from_seed(name: &str, kind: u8, seed: [u8; 32]) -> Result<SignerKey, TlogError> {
        if !valid_name(name) {
            return Err(TlogError::Key("the name must be non-empty, without spaces or '+'"));
        }
        if kind != ED25519 && kind != COSIGNATURE_V1 {
            return Err(TlogError::Key("unknown signature type"));
        }
        Ok(SignerKey {
            name: name.to_string(),
            kind,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads `PRIVATE+KEY+<name>+<hex id>+base64(type || seed)`.
    pub fn parse(text: &str) -> Result<SignerKey, TlogError> {
        let rest = text
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(TlogError::Key("a signer key starts with PRIVATE+KEY+"))?;
        let (name, id, material) = split_key(rest)?;
        let (kind, seed) = material
            .split_first()
            .ok_or(TlogError::Key("the key material is empty"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| TlogError::Key("an Ed25519 seed is 32 bytes"))?;
        let key = SignerKey::from_seed(name, *kind, seed)?;
        if key.id() != id {
            return Err(TlogError::Key("the key id does not match the name and key"));
        }
        Ok(key)
    }

    /// The secret text form (for the key file only; never logged).
    pub fn to_secret_text(&self) -> String {
        let mut material = vec![self.kind];
        material.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id(), b64().encode(material))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> u8 {
        self.kind
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.kind, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            kind: self.kind,
            id: self.id(),
            key: self.key.verifying_key(),
        }
    }

    /// The signature line's bytes for `message`: key id || signature, where
    /// a cosignature's signature carries its timestamp first.
    pub(crate) fn sign_raw(&self, message: &[u8], prefix: &[u8]) -> Vec<u8> {
        let sig: Signature = self.key.sign(message);
        let mut out = self.id().to_be_bytes().to_vec();
        out.extend_from_slice(prefix);
        out.extend_from_slice(&sig.to_bytes());
        out
    }

    /// Signs `text` as a note (type 0x01 keys only).
    pub fn sign(&self, text: &str) -> Result<Note, TlogError> {
        if self.kind != ED25519 {
            return Err(TlogError::Key(
                "a cosigner key signs checkpoints with `checkpoint::cosign`",
            ));
        }
        check_text(text)?;
        Ok(Note {
            text: text.to_string(),
            signatures: vec![SignatureLine {
                name: self.name.clone(),
                bytes: self.sign_raw(text.as_bytes(), &[]),
            }],
        })
    }
}

/// A public key that checks signatures: `<name>+<hex id>+base64(type || key)`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    kind: u8,
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = vec![self.kind];
        material.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, b64().encode(material))
    }
}

fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), TlogError> {
    // base64 has '+' of its own: the key is everything after the second one.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TlogError::Key("expected <name>+<hex id>+<base64 key>"));
    };
    if !valid_name(name) {
        return Err(TlogError::Key("the name must be non-empty, without spaces or '+'"));
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TlogError::Key("the key id is 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| TlogError::Key("the key id is 8 hex digits"))?;
    let material = b64()
        .decode(material)
        .map_err(|_| TlogError::Key("the key is not base64"))?;
    Ok((name, id, material))
}

impl std::str::FromStr for VerifierKey {
    type Err = TlogError;

    fn from_str(text: &str) -> Result<VerifierKey, TlogError> {
        let (name, id, material) = split_key(text.trim())?;
        let (kind, public) = material
            .split_first()
            .ok_or(TlogError::Key("the key material is empty"))?;
        if *kind != ED25519 && *kind != COSIGNATURE_V1 {
            return Err(TlogError::Key(
                "unknown signature type (berth reads Ed25519: 0x01 and 0x04)",
            ));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| TlogError::Key("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| TlogError::Key("not an Ed25519 public key"))?;
        if key_id(name, *kind, &public) != id {
            return Err(TlogError::Key("the key id does not match the name and key"));
        }
        Ok(VerifierKey {
            name: name.to_string(),
            kind: *kind,
            id,
            key,
        })
    }
}

impl VerifierKey {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> u8 {
        self.kind
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether `line` claims to be by this key (by name and id).
    pub fn matches(&self, line: &SignatureLine) -> bool {
        line.name == self.name && line.key_id() == Some(self.id)
    }

    /// Checks an Ed25519 signature over `message` (strict: no malleable or
    /// small-order forms).
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key.verify_strict(message, &Signature::from_bytes(&sig)).is_ok()
    }
}

/// One signature line: the key name and base64(key id || signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    /// Key id (4 bytes, big-endian) followed by the signature.
    pub bytes: Vec<u8>,
}

impl SignatureLine {
    pub fn key_id(&self) -> Option<u32> {
        let id: [u8; 4] = self.bytes.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(id))
    }

    /// What follows the key id.
    pub fn signature(&self) -> &[u8] {
        self.bytes.get(4..).unwrap_or_default()
    }

    /// Reads one line, without its newline.
    pub fn parse(line: &str) -> Result<SignatureLine, TlogError> {
        let rest = line
            .strip_prefix(DASH)
            .ok_or(TlogError::Note("a signature line starts with an em dash and a space"))?;
        let (name, sig) = rest
            .split_once(' ')
            .ok_or(TlogError::Note("a signature line is '— <name> <base64>'"))?;
        if !valid_name(name) {
            return Err(TlogError::Note("a signature's key name is empty or has spaces or '+'"));
        }
        let bytes = b64()
            .decode(sig)
            .map_err(|_| TlogError::Note("a signature is not base64"))?;
        if bytes.len() < 5 {
            return Err(TlogError::Note("a signature is shorter than its key id"));
        }
        Ok(SignatureLine {
            name: name.to_string(),
            bytes,
        })
    }
}

impl fmt::Display for SignatureLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DASH}{} {}", self.name, b64().encode(&self.bytes))
    }
}

/// A note's text and its signature lines, parsed; no signature checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<SignatureLine>,
}

/// A note's text: UTF-8 ending in a newline, no blank line, no control
/// characters but the newline.
fn check_text(text: &str) -> Result<(), TlogError> {
    if !text.ends_with('\n') {
        return Err(TlogError::Note("the text does not end with a newline"));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(TlogError::Note("the text has an empty line"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(TlogError::Note("the text has control characters"));
    }
    Ok(())
}

impl Note {
    /// Reads a signed note, checking its shape and limits (not signatures).
    pub fn parse(message: &str) -> Result<Note, TlogError> {
        if message.len() > MAX_NOTE_BYTES {
            return Err(TlogError::Note("larger than 64 KiB"));
        }
        let split = message
            .rfind("\n\n")
            .ok_or(TlogError::Note("no blank line between the text and the signatures"))?;
        let (text, sigs) = (&message[..split + 1], &message[split + 2..]);
        check_text(text)?;
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(TlogError::Note("the last signature line does not end with a newline"));
        };
        let signatures = sigs
            .split('\n')
            .map(SignatureLine::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(TlogError::Note("more than 100 signatures"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Checks the Ed25519 note signature of `key` (type 0x01). Lines of
    /// other keys are ignored; a line that claims to be by `key` and does
    /// not verify fails the note.
    pub fn verify(&self, key: &VerifierKey) -> Result<(), TlogError> {
        if key.kind != ED25519 {
            return Err(TlogError::Key(
                "a cosigner key checks cosignatures (`checkpoint::verify_cosignature`)",
            ));
        }
        let mut found = false;
        for line in self.signatures.iter().filter(|l| key.matches(l)) {
            if !key.verify_raw(self.text.as_bytes(), line.signature()) {
                return Err(TlogError::BadSignature(key.name.clone()));
            }
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(TlogError::Unsigned(key.name.clone()))
        }
    }

    /// Adds a signature line unless the same key already signed.
    pub fn add(&mut self, line: SignatureLine) {
        if !self
            .signatures
            .iter()
            .any(|l| l.name == line.name && l.key_id() == line.key_id())
        {
            self.signatures.push(line);
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.text)?;
        for line in &self.signatures {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
