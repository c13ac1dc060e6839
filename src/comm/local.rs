//! [`LocalComm`]: a job of one rank, in-process, without MPI.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::{Comm, NodeInfo, Tag};
use crate::error::{Error, Result};

/// A communicator for a job of exactly one rank, in this process.
///
/// Every collective returns at once with what a one-rank MPI job would
/// return, so code written against [`Comm`] runs unchanged in unit tests and
/// on a laptop. It never touches MPI: it works even where no MPI runtime is
/// installed or initialised.
///
/// ```
/// use chunkwise::comm::{Comm, LocalComm};
/// let comm = LocalComm::new();
/// assert_eq!((comm.rank(), comm.size()), (0, 1));
/// assert_eq!(comm.all_gather_bytes(b"hi")?, vec![b"hi".to_vec()]);
/// # Ok::<(), chunkwise::Error>(())
/// ```
///
/// Messages a rank sends to itself ([`Comm::post_send`] to rank 0) wait in a queue
/// until [`Comm::try_recv`] or [`Comm::recv`] takes them.
#[derive(Debug, Default)]
pub struct LocalComm {
    /// Messages sent to this rank, oldest first.
    inbox: RefCell<VecDeque<(Tag, Vec<u8>)>>,
}

impl LocalComm {
    /// A one-rank, in-process communicator.
    pub fn new() -> Self {
        LocalComm::default()
    }

    fn take(&self, tag: Tag) -> Option<Vec<u8>> {
        let mut inbox = self.inbox.borrow_mut();
        let at = inbox.iter().position(|(t, _)| *t == tag)?;
        inbox.remove(at).map(|(_, m)| m)
    }
}

impl Comm for LocalComm {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn node(&self) -> NodeInfo {
        NodeInfo {
            local_rank: 0,
            local_size: 1,
            node_index: 0,
            node_count: 1,
        }
    }

    fn library_version(&self) -> String {
        "none (in-process LocalComm, no MPI)".to_string()
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }

    fn broadcast_bytes(&self, root: usize, _buf: &mut Vec<u8>) -> Result<()> {
        if root != 0 {
            return Err(Error::Comm(format!(
                "broadcast from root rank {root}, but the job has 1 rank (rank 0)"
            )));
        }
        Ok(())
    }

    fn all_gather_bytes(&self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(vec![data.to_vec()])
    }

    fn all_reduce_sum_u64(&self, value: u64) -> Result<u64> {
        Ok(value)
    }

    fn all_reduce_max_u64(&self, value: u64) -> Result<u64> {
        Ok(value)
    }

    fn post_send(&self, dest: usize, tag: Tag, data: Vec<u8>) -> Result<()> {
        if dest != 0 {
            return Err(Error::Comm(format!(
                "send to rank {dest}, but the job has 1 rank (rank 0)"
            )));
        }
        self.inbox.borrow_mut().push_back((tag, data));
        Ok(())
    }

    fn try_recv(&self, tag: Tag) -> Result<Option<(usize, Vec<u8>)>> {
        Ok(self.take(tag).map(|m| (0, m)))
    }

    fn recv(&self, src: usize, tag: Tag) -> Result<Vec<u8>> {
        if src != 0 {
            return Err(Error::Comm(format!(
                "receive from rank {src}, but the job has 1 rank (rank 0)"
            )));
        }
        self.take(tag).ok_or_else(|| {
            Error::Comm(format!(
                "receive of a {tag:?} message on a one-rank job, but none was sent: it would \
                 wait forever"
            ))
        })
    }

    fn progress(&self) -> Result<usize> {
        Ok(0)
    }

    fn wait_sends(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_comm_is_a_world_of_one() {
        let comm = LocalComm::new();
        assert_eq!(comm.rank(), 0);
        assert_eq!(comm.size(), 1);
        assert_eq!(
            comm.node(),
            NodeInfo {
                local_rank: 0,
                local_size: 1,
                node_index: 0,
                node_count: 1
            }
        );
    }

    #[test]
    fn broadcast_from_rank_zero_keeps_the_buffer() {
        let comm = LocalComm::new();
        let mut buf = vec![1u8, 2, 3];
        comm.broadcast_bytes(0, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        let mut empty = Vec::new();
        comm.broadcast_bytes(0, &mut empty).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn broadcast_from_a_missing_root_is_a_comm_error() {
        let comm = LocalComm::new();
        let mut buf = vec![7u8];
        let err = comm.broadcast_bytes(1, &mut buf).unwrap_err();
        assert!(
            matches!(err, Error::Comm(ref m) if m.contains("root rank 1")),
            "{err}"
        );
        assert_eq!(buf, [7], "a failed broadcast must not touch the buffer");
    }

    #[test]
    fn all_gather_returns_one_entry_per_rank() {
        let comm = LocalComm::new();
        assert_eq!(comm.all_gather_bytes(&[]).unwrap(), vec![Vec::<u8>::new()]);
        assert_eq!(comm.all_gather_bytes(&[9, 8]).unwrap(), vec![vec![9u8, 8]]);
    }

    #[test]
    fn reductions_over_one_rank_return_the_value() {
        let comm = LocalComm::new();
        assert_eq!(comm.all_reduce_sum_u64(u64::MAX).unwrap(), u64::MAX);
        assert_eq!(comm.all_reduce_max_u64(42).unwrap(), 42);
        assert!(comm.any(true).unwrap());
        assert!(!comm.any(false).unwrap());
        comm.barrier().unwrap();
    }

    #[test]
    fn messages_to_self_arrive_in_order_per_tag() {
        let comm = LocalComm::new();
        assert_eq!(comm.try_recv(Tag::Data).unwrap(), None);
        comm.post_send(0, Tag::Data, vec![1]).unwrap();
        comm.post_send(0, Tag::Abort, vec![9]).unwrap();
        comm.post_send(0, Tag::Data, vec![2, 2]).unwrap();
        assert_eq!(comm.progress().unwrap(), 0);
        assert_eq!(comm.try_recv(Tag::Data).unwrap(), Some((0, vec![1])));
        assert_eq!(comm.recv(0, Tag::Data).unwrap(), vec![2, 2]);
        assert_eq!(comm.try_recv(Tag::Data).unwrap(), None);
        assert_eq!(comm.try_recv(Tag::Abort).unwrap(), Some((0, vec![9])));
        let err = comm.recv(0, Tag::Data).unwrap_err();
        assert!(
            matches!(err, Error::Comm(ref m) if m.contains("wait forever")),
            "{err}"
        );
        assert!(comm.post_send(1, Tag::Data, vec![]).is_err());
        comm.wait_sends().unwrap();
    }

    #[test]
    fn works_through_a_trait_object() {
        let comm: Box<dyn Comm> = Box::new(LocalComm::new());
        assert_eq!(comm.all_reduce_sum_u64(5).unwrap(), 5);
        assert!(comm.library_version().contains("LocalComm"));
    }
}
