/// Shared pieces of the fuzz tests: how many cases a property tries, and byte-level mutations of a valid file.
module Generative.Tests.Fuzz.Mutation

open System
open Expecto
open FsCheck

/// How many mutated inputs each fuzz property tries: 500 in the default suite; `./test.sh fuzz` sets
/// GENERATIVE_FUZZ_CASES (10,000 there) for the long check.
let caseCount =
    match Environment.GetEnvironmentVariable "GENERATIVE_FUZZ_CASES" with
    | null | "" -> 500
    | text ->
        match Int32.TryParse text with
        | true, n when n > 0 -> n
        | _ -> failwithf "GENERATIVE_FUZZ_CASES must be a positive number of cases, not '%s'" text

/// FsCheck settings of the fuzz properties: `caseCount` cases, and no shrinking budget wasted on huge inputs.
let config = { FsCheckConfig.defaultConfig with maxTest = caseCount; endSize = 100 }

/// One change to a file's bytes. Positions are taken modulo the file's length, so any generated value applies; but
/// FsCheck's default integers stay within about ±`endSize` (100 here), so a property that should reach a whole file
/// generates its positions over the file's length itself (as the readers' fuzz tests do).
type ByteMutation =
    /// Flips one bit of one byte.
    | FlipBit of position: int * bit: int
    /// Overwrites one byte.
    | SetByte of position: int * value: byte
    /// Keeps only the first `length` bytes (modulo the length, so always a real cut).
    | Truncate of length: int
    /// Inserts bytes at a position.
    | Insert of position: int * bytes: byte[]
    /// Removes up to `count` bytes at a position.
    | Remove of position: int * count: int
    /// Appends bytes at the end.
    | Append of bytes: byte[]

/// Applies a mutation to a copy of `bytes` (the original is never changed).
let apply (mutation: ByteMutation) (bytes: byte[]) : byte[] =
    let n = bytes.Length
    let at (p: int) = if n = 0 then 0 else (abs (p % n))
    match mutation with
    | FlipBit (p, bit) when n > 0 ->
        let copy = Array.copy bytes
        copy.[at p] <- copy.[at p] ^^^ (1uy <<< (abs bit % 8))
        copy
    | SetByte (p, v) when n > 0 ->
        let copy = Array.copy bytes
        copy.[at p] <- v
        copy
    | Truncate length when n > 0 -> Array.truncate (at length) bytes
    | Insert (p, extra) -> Array.concat [ bytes.[.. at p - 1]; extra; bytes.[at p ..] ]
    | Remove (p, count) when n > 0 -> Array.append bytes.[.. at p - 1] bytes.[min n (at p + abs count % 64 + 1) ..]
    | Append extra -> Array.append bytes extra
    | _ -> Array.copy bytes

/// Applies mutations in order.
let applyAll (mutations: ByteMutation list) (bytes: byte[]) : byte[] = List.fold (fun b m -> apply m b) bytes mutations

/// Runs `f` and returns what it returned or threw, with the managed bytes allocated meanwhile on this thread, so a
/// test can bound what a reader allocates for an input (a reader that trusts a size field allocates what it claims).
let allocatedBy (f: unit -> 'a) : Result<'a, exn> * int64 =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let result = try Ok(f ()) with e -> Error e
    result, GC.GetAllocatedBytesForCurrentThread() - before

/// Like `allocatedBy`, counting every thread (for code that reads in parallel); other threads' allocations meanwhile
/// are counted too, so bounds on it need some slack.
let allocatedByAnyThread (f: unit -> 'a) : Result<'a, exn> * int64 =
    let before = GC.GetTotalAllocatedBytes true
    let result = try Ok(f ()) with e -> Error e
    result, GC.GetTotalAllocatedBytes true - before
