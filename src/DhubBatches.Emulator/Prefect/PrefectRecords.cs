using System;

namespace DhubBatches.Emulator.Prefect;

/// <summary>A Prefect request body as received, and the request model (<c>#/components/schemas/…</c>) it was validated against.</summary>
public sealed record PrefectRequestBody(string Method, string Path, string Model, string Body);

/// <summary>Counters for test assertions about a pipeline's deployment.</summary>
public sealed record PrefectPipelineCounts(int Runs, int Created, int IdempotentRepeats);

/// <summary>A set_state call as received (for assertions), with the orchestration status it got.</summary>
public sealed record PrefectSetStateCall(string FlowRunId, string ProposedType, string? TransitionId, string Status, DateTimeOffset At, bool Force = false);

/// <summary>A flow run removed by DELETE.</summary>
public sealed record PrefectDeletedRun(string FlowRunId, string Pipeline, DateTimeOffset DeletedAt);
