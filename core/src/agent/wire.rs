//! Frames on the agent's connection: a 4-byte big-endian length, then that
//! many bytes of JSON. A frame is at most `MAX_FRAME` bytes (a hello, from
//! a peer not known yet, at most `MAX_HELLO`); a longer announced length,
//! an empty frame or one that is not the JSON expected ends the connection
//! (the reader says which), and a length over the limit is refused before
//! anything is allocated for it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame either side sends or accepts: room for the container
/// list of a busy host, not for a memory exhaustion.
pub const MAX_FRAME: usize = 16 << 20;
/// The largest first frame the agent reads from a peer that has not shown
/// the token yet: a hello is a few hundred bytes, and 16 MiB for every
/// stranger that connects would be memory for the taking.
pub const MAX_HELLO: usize = 64 << 10;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the connection closed")]
    Closed,
    #[error("a frame of {len} bytes is over the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("an empty frame")]
    Empty,
    #[error("a malformed frame: {0}")]
    Malformed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads the next frame as `T`. `Closed` when the peer closed between frames.
pub async fn read<T, R>(reader: &mut R) -> Result<T, WireError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    read_at_most(reader, MAX_FRAME).await
}

/// `read`, refusing a frame over `limit` bytes (itself at most `MAX_FRAME`).
pub async fn read_at_most<T, R>(reader: &mut R, limit: usize) -> Result<T, WireError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    let limit = limit.min(MAX_FRAME);
    let len = match reader.read_u32().await {
        Ok(n) => n as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(WireError::Closed),
        Err(e) => return Err(e.into()),
    };
    if len == 0 {
        return Err(WireError::Empty);
    }
    if len > limit {
        return Err(WireError::TooLarge { len, limit });
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    serde_json::from_slice(&body).map_err(|e| WireError::Malformed(e.to_string()))
}

/// The bytes of one frame holding `value`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut frame = vec![0; 4];
    serde_json::to_writer(&mut frame, value).map_err(|e| WireError::Malformed(e.to_string()))?;
    let len = frame.len() - 4;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge { len, limit: MAX_FRAME });
    }
    frame[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// Frames written together before one flush, at most this many bytes.
const BATCH: usize = 64 << 10;

/// Sends every frame `queue` holds until it closes. The frames already
/// waiting go out together, with one flush (and one TLS record write)
/// for all of them: the readings of many containers fall due at once.
pub async fn send_queued<T, W>(writer: &mut W, queue: &mut tokio::sync::mpsc::Receiver<T>) -> Result<(), WireError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        batch.clear();
        batch.extend_from_slice(&encode(&first)?);
        while batch.len() < BATCH {
            let Ok(next) = queue.try_recv() else { break };
            batch.extend_from_slice(&encode(&next)?);
        }
        writer.write_all(&batch).await?;
        writer.flush().await?;
    }
    Ok(())
}

/// Writes one frame holding `value` and flushes it.
pub async fn write<T, W>(writer: &mut W, value: &T) -> Result<(), WireError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    writer.write_all(&encode(value)?).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[tokio::test]
    async fn frames_round_trip_and_bad_ones_are_named() {
        let mut buf = Vec::new();
        write(&mut buf, &json!({"ping": {"id": 1}})).await.unwrap();
        write(&mut buf, &json!({"pong": {"id": 2}})).await.unwrap();
        let mut r = buf.as_slice();
        assert_eq!(read::<Value, _>(&mut r).await.unwrap()["ping"]["id"], 1);
        assert_eq!(read::<Value, _>(&mut r).await.unwrap()["pong"]["id"], 2);
        assert!(matches!(read::<Value, _>(&mut r).await, Err(WireError::Closed)));

        // Frames queued together are sent together, each whole and in order.
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        for id in 0..5 {
            tx.send(json!({ "item": { "id": id } })).await.unwrap();
        }
        drop(tx);
        let mut sent = Vec::new();
        send_queued(&mut sent, &mut rx).await.unwrap();
        let mut r = sent.as_slice();
        for id in 0..5 {
            assert_eq!(read::<Value, _>(&mut r).await.unwrap()["item"]["id"], id);
        }
        assert!(matches!(read::<Value, _>(&mut r).await, Err(WireError::Closed)));

        // A length over the limit is refused before anything is read or allocated.
        let huge = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(
            read::<Value, _>(&mut huge.as_slice()).await,
            Err(WireError::TooLarge { .. })
        ));
        // A hello has a lower limit; the error names it.
        let mut hello = ((MAX_HELLO + 1) as u32).to_be_bytes().to_vec();
        hello.extend_from_slice(b"{}");
        let e = read_at_most::<Value, _>(&mut hello.as_slice(), MAX_HELLO)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("a frame of {} bytes is over the limit of {MAX_HELLO}", MAX_HELLO + 1)
        );
        let mut small = 2u32.to_be_bytes().to_vec();
        small.extend_from_slice(b"{}");
        assert_eq!(
            read_at_most::<Value, _>(&mut small.as_slice(), MAX_HELLO)
                .await
                .unwrap(),
            json!({})
        );
        assert!(matches!(
            read::<Value, _>(&mut [0u8; 4].as_slice()).await,
            Err(WireError::Empty)
        ));
        // Cut short inside a frame.
        let mut cut = 10u32.to_be_bytes().to_vec();
        cut.extend_from_slice(b"{\"a\"");
        assert!(matches!(
            read::<Value, _>(&mut cut.as_slice()).await,
            Err(WireError::Io(_))
        ));
        // Not JSON.
        let mut junk = 3u32.to_be_bytes().to_vec();
        junk.extend_from_slice(b"\xff\x00x");
        assert!(matches!(
            read::<Value, _>(&mut junk.as_slice()).await,
            Err(WireError::Malformed(_))
        ));
    }
}
