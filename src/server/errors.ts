// Wire error texts, exactly as nats-server 2.9 sends them inside `-ERR '…'`.
// Casing differs between them on purpose: it is nats-server's (checked against
// the Debian nats-server v2.9.10 by test/protocol/differential.test.ts).
export const ERR_UNKNOWN_PROTOCOL = 'Unknown Protocol Operation'
export const ERR_MAX_CONTROL_LINE = 'maximum control line exceeded'
export const ERR_MAX_PAYLOAD = 'Maximum Payload Violation'
export const ERR_MAX_CONNECTIONS = 'maximum connections exceeded'
export const ERR_INVALID_SUBJECT = 'Invalid Subject'
export const ERR_INVALID_PUBLISH_SUBJECT = 'Invalid Publish Subject'
export const ERR_STALE_CONNECTION = 'Stale Connection'
export const ERR_NO_RESPONDERS_NEEDS_HEADERS = 'no responders requires headers support'
export const ERR_AUTHORIZATION = 'Authorization Violation'
