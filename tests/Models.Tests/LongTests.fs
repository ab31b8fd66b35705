/// Long training checks on real data: run with `./test.sh long`. Each is skipped when its data is not cached.
module Generative.Tests.LongTests

open Expecto

/// Every long check.
let all : Test list = []
