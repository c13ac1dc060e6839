use chunkwise::prelude::*;
use std::time::Instant;
fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20000);
    for _ in 0..2 {
        let t = Instant::now();
        let x = random::random(&[n, n], [1000, 1000], 0)?.persist()?;
        let t1 = t.elapsed().as_secs_f64();
        let m = x.mean(Some(0), false)?.persist()?;
        let t2 = t.elapsed().as_secs_f64();
        let y = (&x + &x.t() - &m).std(None, 0, false)?;
        let v = y.compute()?.to_f64();
        println!(
            "std = {} persist {:.3} mean {:.3} total {:.3} s",
            v[[]],
            t1,
            t2 - t1,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
