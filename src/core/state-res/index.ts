export { resolveState, resolveStateAsync } from "./resolve.js";
export type { EventFetcher, AsyncResolveOptions } from "./resolve.js";
export { resolveStateV1 } from "./v1.js";
export { resolveStateV2, isPowerEvent, partitionStateSets, conflictedSubgraph, reverseTopologicalPowerOrder, mainlineOrder, iterativeAuthChecks } from "./v2.js";
export { authChainOf, authChainUnion, authDifference } from "./auth-chain.js";
export { mapSource, memoryAuthChainCache, StateResFailure } from "./source.js";
export type { StateResSource, StateResResult, AuthChainCache, StateResFailureKind } from "./source.js";
