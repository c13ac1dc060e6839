//! `chunkwise shell`: an interactive prompt for a session.
