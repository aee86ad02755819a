/** The composition root's public face, used by cli/ and the test harness. */
export { startHomeserver, systemClock, wellKnownServerValue } from "./homeserver.js";
export type { Homeserver, StartOptions, ListenerInfo } from "./homeserver.js";
export { devConfig, DEV_SERVER_NAME } from "./dev.js";
export type { DevOptions } from "./dev.js";
export { generateConfig, ensureIdentityFiles, renderHomeserverYaml } from "./generate-config.js";
export type { GenerateOptions, GeneratedFiles } from "./generate-config.js";
export { StartupError } from "./errors.js";
export { createLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { stopOnSignals, handleStopSignals } from "./signals.js";
export type { StopSignals } from "./signals.js";
export { loadTlsOptions, tlsOptionsFromPem } from "./tls.js";
export { readSigningKeys, newSigningKey, writeSigningKeyFile } from "./signing-key.js";
export { generateSelfSignedCertificate } from "./self-signed.js";
export { openConfiguredStorage } from "./storage.js";
export { zionVersion } from "./version.js";
export { registerUser, clientUrlOf, sharedSecretFromConfig } from "./register-user.js";
export type { RegisterUserRequest, RegisterUserResult } from "./register-user.js";
