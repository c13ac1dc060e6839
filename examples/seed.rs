use chunkwise::prelude::*;
use std::time::Instant;
fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20000);
    let x = random::random(&[n, n], [1000, 1000], 0)?;
    let y = (&x + &x.t() - x.mean(Some(0), false)?).std(None, 0, false)?;
    println!("{}", y.explain()?);
    for _ in 0..3 {
        let t = Instant::now();
        let v = y.compute()?.to_f64();
        println!("std = {} in {:.3} s", v[[]], t.elapsed().as_secs_f64());
    }
    Ok(())
}
