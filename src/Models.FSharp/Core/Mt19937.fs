namespace Generative

#nowarn "9" // NativePtr: the engine writes its numbers straight into a caller's buffer.

open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

/// The 32-bit Mersenne Twister as libtorch's CPU generator runs it (`at::mt19937`: the same state, the same
/// lazy regeneration and the same tempering), so that numbers drawn here continue libtorch's sequence exactly.
/// `State` holds the 624 words, `Left` and `Next` libtorch's counters: a draw first decrements `Left`, regenerates
/// the words when it reaches 0 (then `Left` = 624, `Next` = 0) and returns the tempered word at `Next`.
type internal Mt19937(state: uint32[], left: int, next: int) =
    static let n = 624
    static let m = 397
    let mutable left = left
    let mutable next = next

    static let twist (u: uint32) (v: uint32) =
        (((u &&& 0x80000000u) ||| (v &&& 0x7fffffffu)) >>> 1) ^^^ (if v &&& 1u <> 0u then 0x9908b0dfu else 0u)

    static let twistVector (u: Vector256<uint32>) (v: Vector256<uint32>) =
        let mixed = (u &&& Vector256.Create 0x80000000u) ||| (v &&& Vector256.Create 0x7fffffffu)
        let odd = Vector256.Equals(v &&& Vector256.Create 1u, Vector256.Create 1u)
        Vector256.ShiftRightLogical(mixed, 1) ^^^ (odd &&& Vector256.Create 0x9908b0dfu)

    static let temper (y0: uint32) =
        let y = y0 ^^^ (y0 >>> 11)
        let y = y ^^^ ((y <<< 7) &&& 0x9d2c5680u)
        let y = y ^^^ ((y <<< 15) &&& 0xefc60000u)
        y ^^^ (y >>> 18)

    static let temperVector (y0: Vector256<uint32>) =
        let y = y0 ^^^ Vector256.ShiftRightLogical(y0, 11)
        let y = y ^^^ (Vector256.ShiftLeft(y, 7) &&& Vector256.Create 0x9d2c5680u)
        let y = y ^^^ (Vector256.ShiftLeft(y, 15) &&& Vector256.Create 0xefc60000u)
        y ^^^ Vector256.ShiftRightLogical(y, 18)

    // next_state(): word i from words i, i+1 and i+397 (mod 624), over [start, stop) where word i+397 (mod 624) is
    // word i + offset. Eight at a time where the words read are all either still old (ahead of i) or already new
    // (behind i), as in the serial loop.
    let twistRange (start: int) (stop: int) (offset: int) =
        let s = state
        let mutable i = start
        if Vector256.IsHardwareAccelerated then
            use p = fixed s
            while i + 8 <= stop do
                let v = twistVector (Vector256.Load(NativePtr.add p i)) (Vector256.Load(NativePtr.add p (i + 1)))
                Vector256.Store(Vector256.Load(NativePtr.add p (i + offset)) ^^^ v, NativePtr.add p i)
                i <- i + 8
        while i < stop do
            s.[i] <- s.[i + offset] ^^^ twist s.[i] s.[i + 1]
            i <- i + 1

    let regenerate () =
        twistRange 0 (n - m) m
        twistRange (n - m) (n - 1) (m - n)
        state.[n - 1] <- state.[m - 1] ^^^ twist state.[n - 1] state.[0]

    /// The 624 state words (changed in place by drawing).
    member _.State = state
    /// libtorch's `left_` counter after the draws so far.
    member _.Left = left
    /// libtorch's `next_` index after the draws so far.
    member _.Next = next

    /// Writes the next `count` numbers of the sequence to `destination`, as `count` calls of libtorch's engine would
    /// return them.
    member _.Fill(destination: nativeptr<uint32>, count: int) =
        let mutable filled = 0
        while filled < count do
            // A call with Left = 1 regenerates and returns word 0; Left = 625 and Next = 0 make that call the first of
            // the 624 the words serve, like every other.
            if left = 1 then
                regenerate ()
                left <- n + 1
                next <- 0
            let take = min (count - filled) (left - 1)
            let mutable j = 0
            if Vector256.IsHardwareAccelerated then
                use p = fixed state
                while j + 8 <= take do
                    Vector256.Store(temperVector (Vector256.Load(NativePtr.add p (next + j))), NativePtr.add destination (filled + j))
                    j <- j + 8
            while j < take do
                NativePtr.set destination (filled + j) (temper state.[next + j])
                j <- j + 1
            filled <- filled + take
            left <- left - take
            next <- next + take
