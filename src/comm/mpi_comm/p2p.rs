//! Point-to-point messages of [`MpiComm`](super::MpiComm): the sends it owns
//! while they are in flight, and the framing that carries a message of any
//! length in pieces.
//!
//! # Wire format
//!
//! A message of `L` bytes travels as those bytes followed by an 8-byte
//! little-endian *trailer* holding `L`. With the sender's piece size `P`
//! (at most [`MAX_PIECE`]), that buffer is cut into the *tail* — the
//! `L % P` last data bytes and the trailer, `L % P + 8` bytes — and the
//! `L / P` full pieces of `P` bytes before it. The tail is sent first, then
//! the full pieces in order, all with the same tag to the same rank on the
//! same communicator, so MPI's non-overtaking rule delivers them in that
//! order, before any piece of a later message.
//!
//! The receiver reads `L` from the end of the first piece it matches, then
//! takes pieces from the same source and tag until it has the `L - (L % P)`
//! bytes before the tail; it never needs to know `P`. A message shorter than
//! `P` (every message, with the default piece size of 1 GiB) is one MPI
//! message of `L + 8` bytes, sent from the caller's own buffer and received
//! into the buffer that is returned: no copy on either side. A longer one
//! costs the receiver one copy of the tail (under `P` bytes) and zeroing its
//! buffer before the pieces land in place.

use std::mem::ManuallyDrop;
use std::ops::Range;

use mpi::point_to_point::{Message, Status};
use mpi::request::{Request, StaticScope};
use mpi::topology::{Process, SimpleCommunicator};
use mpi::traits::*;
use mpi::Count;

use super::super::Tag;
use crate::error::{Error, Result};

/// Bytes of the length trailer at the end of every message's tail piece.
const TRAILER: usize = 8;

/// The largest piece size: the tail piece (`P - 1` data bytes at most, and
/// the trailer) must still fit in one MPI count.
pub(super) const MAX_PIECE: usize = Count::MAX as usize - TRAILER;

/// The byte ranges of a framed buffer (`len` data bytes and the trailer), in
/// the order they are sent: the tail (the last `len % piece` data bytes and
/// the trailer), then the full pieces of `piece` bytes from the start.
///
/// Requires `1 <= piece`.
pub(super) fn piece_ranges(len: usize, piece: usize) -> impl Iterator<Item = Range<usize>> {
    let tail_start = len - len % piece;
    std::iter::once(tail_start..len + TRAILER)
        .chain((0..tail_start / piece).map(move |i| i * piece..(i + 1) * piece))
}

/// One posted message: its buffer, owned here, and the MPI sends of its
/// pieces.
///
/// # Invariants
///
/// * `(ptr, len, cap)` are the parts of a `Vec<u8>` taken apart by
///   [`OwnedSend::post`]; nothing but the requests reads that buffer and
///   nothing writes it, and it is rebuilt into a `Vec` and freed in `Drop`
///   only, after every request has completed.
/// * `requests` holds the sends that have not completed yet; a request leaves
///   it only by completing (`test` or `wait`), never by being dropped.
pub(super) struct OwnedSend {
    ptr: *mut u8,
    len: usize,
    cap: usize,
    requests: Vec<Request<'static, [u8], StaticScope>>,
}

impl OwnedSend {
    /// Frame `data` (append its length) and start sending its pieces of at
    /// most `piece` bytes to `dest` with MPI tag `tag` (see the module docs).
    ///
    /// Requires `1 <= piece <= MAX_PIECE`. Appending the trailer reallocates
    /// `data` only when it has fewer than 8 bytes of spare capacity.
    pub(super) fn post(dest: &Process<'_>, tag: Tag, mut data: Vec<u8>, piece: usize) -> Self {
        let payload = data.len();
        data.extend_from_slice(&(payload as u64).to_le_bytes());
        let mut data = ManuallyDrop::new(data);
        let mut send = OwnedSend {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            cap: data.capacity(),
            requests: Vec::with_capacity(1 + payload / piece),
        };
        // SAFETY: `ptr` and `len` describe the initialised bytes of the Vec
        // just taken apart, which `send` now owns. The `'static` lifetime is
        // what rsmpi's `StaticScope` asks of a buffer: that it outlive every
        // request reading it. It does: `send` frees the buffer in its `Drop`
        // only, after completing every request (`wait`), and a request
        // leaves `send.requests` only by completing, which also drops the
        // reference it holds, so no reference to the buffer outlives it. The
        // buffer is never written while the requests read it: the only other
        // access is the raw pointer used to free it.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(send.ptr, send.len) };
        for range in piece_ranges(payload, piece) {
            send.requests.push(dest.immediate_send_with_tag(
                StaticScope,
                &bytes[range],
                tag.code(),
            ));
        }
        send
    }

    /// Complete the sends that have finished; whether all have.
    pub(super) fn test(&mut self) -> bool {
        let pending = std::mem::take(&mut self.requests);
        for request in pending {
            if let Err(request) = request.test() {
                self.requests.push(request);
            }
        }
        self.requests.is_empty()
    }

    /// Wait until every send of this message has completed.
    pub(super) fn wait(&mut self) {
        for request in self.requests.drain(..) {
            request.wait_without_status();
        }
    }
}

impl Drop for OwnedSend {
    fn drop(&mut self) {
        // MPI may read the buffer until its sends complete: wait for them
        // before freeing it (a no-op once `test` returned true).
        self.wait();
        // SAFETY: `(ptr, len, cap)` are the parts of the Vec<u8> taken apart
        // in `post` (its allocation, initialised length and capacity),
        // rebuilt here once. Every request reading the buffer has completed
        // (`wait` above), so MPI no longer reads it, and the `'static` slices
        // given to rsmpi were dropped with those requests.
        drop(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) });
    }
}

/// Receive the message whose first piece was matched (`first`, from a
/// matched probe on `world`) and the rest of its pieces, which follow from
/// the same source with `tag`; `me` is this rank, for messages. Returns the
/// source rank and the message.
///
/// Blocks until every piece has arrived (the sender posted them all at once).
pub(super) fn receive_message(
    world: &SimpleCommunicator,
    me: usize,
    tag: Tag,
    first: (Message, Status),
) -> Result<(usize, Vec<u8>)> {
    let source_rank = first.1.source_rank();
    // Receive before anything can fail: a matched message must be received.
    let (mut tail, _) = first.matched_receive_vec::<u8>();
    let source = usize::try_from(source_rank).map_err(|_| {
        Error::internal(format!(
            "MPI reported a {tag:?} message from rank {source_rank} on rank {me}"
        ))
    })?;
    let malformed = |what: String| {
        Error::Comm(format!(
            "malformed {tag:?} message from rank {source} to rank {me}: {what} (a bug in \
             chunkwise, or another library sending on chunkwise's communicator)"
        ))
    };
    let Some(data_in_tail) = tail.len().checked_sub(TRAILER) else {
        return Err(malformed(format!(
            "its first piece has {} bytes, fewer than the {TRAILER}-byte length trailer",
            tail.len()
        )));
    };
    let mut trailer = [0u8; TRAILER];
    trailer.copy_from_slice(&tail[data_in_tail..]);
    let total = u64::from_le_bytes(trailer);
    let total = usize::try_from(total).map_err(|_| {
        Error::Comm(format!(
            "a {tag:?} message of {total} bytes from rank {source} does not fit in memory on \
             rank {me}"
        ))
    })?;
    let Some(front) = total.checked_sub(data_in_tail) else {
        return Err(malformed(format!(
            "its first piece holds {data_in_tail} data bytes but the message has {total}"
        )));
    };
    if front == 0 {
        tail.truncate(total);
        return Ok((source, tail));
    }
    let mut message = Vec::new();
    message.try_reserve_exact(total).map_err(|_| {
        Error::Comm(format!(
            "a {tag:?} message of {total} bytes from rank {source} does not fit in memory on \
             rank {me}"
        ))
    })?;
    message.resize(front, 0);
    let from = world.process_at_rank(source_rank);
    let mut filled = 0;
    while filled < front {
        let (piece, status) = from.matched_probe_with_tag(tag.code());
        let count = usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(0);
        if count == 0 || count > front - filled {
            // Take it off the queue (a matched message must be received).
            let _ = (piece, status).matched_receive_vec::<u8>();
            return Err(malformed(format!(
                "a piece of {count} bytes where {} more were expected",
                front - filled
            )));
        }
        piece.matched_receive_into(&mut message[filled..filled + count]);
        filled += count;
    }
    message.extend_from_slice(&tail[..data_in_tail]);
    Ok((source, message))
}

/// Receive and drop one message, of any source and tag, if one has arrived;
/// whether there was one.
pub(super) fn discard_one(world: &SimpleCommunicator) -> bool {
    match world.any_process().immediate_matched_probe() {
        Some(matched) => {
            let _ = matched.matched_receive_vec::<u8>();
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces as `(start, end)` byte offsets, in sending order.
    fn ranges(len: usize, piece: usize) -> Vec<(usize, usize)> {
        piece_ranges(len, piece).map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn a_message_shorter_than_a_piece_is_one_piece_with_its_trailer() {
        assert_eq!(ranges(0, 16), [(0, 8)]);
        assert_eq!(ranges(5, 16), [(0, 13)]);
        assert_eq!(ranges(15, 16), [(0, 23)]);
        assert_eq!(ranges(0, 1), [(0, 8)]);
    }

    #[test]
    fn the_tail_goes_first_then_the_full_pieces_in_order() {
        // 16 bytes in pieces of 16: an empty tail (trailer only), one piece.
        assert_eq!(ranges(16, 16), [(16, 24), (0, 16)]);
        // 40 bytes in pieces of 16: 8 data bytes and the trailer, then two.
        assert_eq!(ranges(40, 16), [(32, 48), (0, 16), (16, 32)]);
        // Pieces of one byte: the trailer alone, then every byte.
        assert_eq!(ranges(3, 1), [(3, 11), (0, 1), (1, 2), (2, 3)]);
    }

    #[test]
    fn pieces_cover_the_framed_buffer_once_and_fit_an_mpi_count() {
        for piece in [1, 2, 7, 8, 9, 64] {
            for len in 0..200 {
                let mut seen = vec![0u8; len + TRAILER];
                for (start, end) in ranges(len, piece) {
                    assert!(
                        end - start < piece + TRAILER,
                        "{start}..{end} of {len} by {piece}"
                    );
                    seen[start..end].iter_mut().for_each(|s| *s += 1);
                }
                assert!(seen.iter().all(|&s| s == 1), "len {len}, piece {piece}");
                // The first piece holds the whole trailer.
                let (start, end) = ranges(len, piece)[0];
                assert_eq!(end, len + TRAILER);
                assert!(end - start >= TRAILER);
            }
        }
        assert!(MAX_PIECE - 1 + TRAILER <= Count::MAX as usize);
    }
}
