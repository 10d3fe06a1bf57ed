using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator.Requests;

/// <summary>
/// One logged API request. <see cref="Authorization"/> is only "present" or "absent": the emulator
/// never keeps a credential, so a test can print the log without leaking one. <see cref="PrefectApiVersion"/> is the
/// request's <c>X-PREFECT-API-VERSION</c> header (null when absent).
/// </summary>
public sealed record RequestLogEntry(
    DateTimeOffset Timestamp,
    string Method,
    string RawTarget,
    IReadOnlyList<string> PathSegments,
    int Status,
    string Authorization,
    string? UserAgent,
    double ElapsedMs,
    string? Fault,
    bool Aborted,
    string? PrefectApiVersion = null);
