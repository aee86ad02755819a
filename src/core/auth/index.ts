export { checkAuthEvents, checkAgainstState, createEventIdForRoom } from "./authorize.js";
export type { AuthVerdict, AuthOptions, AuthState } from "./authorize.js";
export { authEventTypesFor, CREATE_KEY, POWER_LEVELS_KEY, JOIN_RULES_KEY } from "./auth-events.js";
export type { AuthTypesOptions } from "./auth-events.js";
export { PowerLevelView, parseLevel, creatorsOf, originalCreatorOf } from "./power-levels.js";
export { ruleNumbers } from "./numbering.js";
export type { RuleNumbers } from "./numbering.js";
export { verifyThirdPartySignature } from "./third-party-invite.js";
export type { ThirdPartySignatureVerifier } from "./third-party-invite.js";
