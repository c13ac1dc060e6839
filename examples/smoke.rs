use chunkwise::prelude::*;
fn main() -> anyhow::Result<()> {
    let x = random::random(&[1000, 1000], [250, 300], 42)?;
    let y = (&x + &x.t()).mean(None, false)?;
    println!("{}", y.explain()?);
    println!("mean(x + x.T) = {:?}", y.compute()?.to_f64());
    let a = arange(0, 10, 1, 3)?;
    println!("arange = {:?}", a.compute()?.to_f64());
    let s = a.slice(&[Idx::slice(None, None, -2)])?;
    println!("{}", s.explain()?);
    println!("arange[::-2] = {:?}", s.compute()?.to_f64());
    let z = (&x - &x.mean(Some(0), false)?).std(None, 0, false)?;
    println!("{}", z.explain()?);
    println!("std = {:?}", z.compute()?.to_f64());
    Ok(())
}
