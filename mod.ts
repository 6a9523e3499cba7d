/**
 * Deno-native messaging for scientific alert and production pipelines: PostTroll (pytroll's
 * ZeroMQ messaging, wire-compatible with Python posttroll 1.16) and igwn-alert (LIGO/Virgo/KAGRA
 * GraceDB alerts over Kafka, wire-compatible with Python igwn-alert 0.7 and hop-client).
 *
 * This module re-exports the stable surface; each concern also has its own subpath export.
 *
 * @module
 */
export {};
