using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Contract;

/// <summary>
/// One backend's HTTP client: the contract between the cmdlets (this assembly) and DhubBatches.Engine (net8.0,
/// loaded in its own load context). Only types of this assembly cross the boundary. Every call is cancellable,
/// throws only <see cref="DhubException"/> or <see cref="OperationCanceledException"/>, and logs through
/// <see cref="EngineLog.Current"/>.
/// </summary>
public interface IBatchEngine : IDisposable
{
    BackendKind Backend { get; }

    /// <summary>Whether the backend can do it at all; asked before any request, so an unsupported call costs nothing.</summary>
    bool Supports(EngineFeature feature);

    /// <summary>One cheap authenticated call that proves the URL, the credentials, and that the server is this backend.</summary>
    Task VerifyAsync(CancellationToken cancellationToken);

    /// <summary>Starts a batch and returns it as the server reports it right after creation.</summary>
    Task<BatchSnapshot> StartAsync(StartRequest request, CancellationToken cancellationToken);

    /// <summary>The newest batch expected to have started by now; DhubBatchNotFound when there is none.</summary>
    Task<BatchSnapshot> GetLatestAsync(string pipelineId, CancellationToken cancellationToken);

    Task<BatchSnapshot> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    /// <summary>One page of a pipeline's batches, newest first; unreadable records are reported, not thrown.</summary>
    Task<BatchPage> GetPageAsync(string pipelineId, BatchQuery query, PageRequest page, CancellationToken cancellationToken);

    /// <summary>How many batches the query matches, or null when the backend cannot count.</summary>
    Task<long?> CountAsync(string pipelineId, BatchQuery query, CancellationToken cancellationToken);

    /// <summary>A poller for one wait: it may remember what it read in earlier rounds to read less in later ones.</summary>
    IBatchRefresher CreateRefresher();

    Task<StopOutcome> StopAsync(string pipelineId, string batchId, StopOptions options, CancellationToken cancellationToken);

    /// <summary>Deletes a batch, stopping it first when it is still running.</summary>
    Task RemoveAsync(string pipelineId, string batchId, RemoveOptions options, CancellationToken cancellationToken);

    /// <summary>Runs a finished batch again in place (<see cref="EngineFeature.Restart"/>).</summary>
    Task<BatchSnapshot> RestartAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    /// <summary>A reader of one batch's log (<see cref="EngineFeature.Logs"/>).</summary>
    IBatchLogReader CreateLogReader(LogRequest request);

    /// <summary>Pipeline ids this engine can name cheaply (for tab completion); never throws for "unsupported".</summary>
    Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The pipelines the server has (<see cref="EngineFeature.Fleet"/>), sorted by id: only those named in
    /// <paramref name="names"/> when it is given (a name the server lacks is simply missing), else all of them.
    /// </summary>
    Task<IReadOnlyList<PipelineSnapshot>> GetPipelinesAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken);

    /// <summary>One page of every pipeline's batches in one stream, newest first (<see cref="EngineFeature.Fleet"/>).</summary>
    Task<BatchPage> GetFleetPageAsync(BatchQuery query, PageRequest page, CancellationToken cancellationToken);

    /// <summary>How many batches of every pipeline the query matches, or null when the backend cannot count.</summary>
    Task<long?> CountFleetAsync(BatchQuery query, CancellationToken cancellationToken);

    /// <summary>A batch by its id alone, its pipeline read from the server (<see cref="EngineFeature.Fleet"/>).</summary>
    Task<BatchSnapshot> GetByIdAsync(string batchId, CancellationToken cancellationToken);
}

/// <summary>What a backend may be unable to do.</summary>
public enum EngineFeature
{
    Logs,
    Restart,

    /// <summary>Filtering batches by expected start time (-Since/-Until).</summary>
    TimeFilters,

    /// <summary>Listing the pipelines, every pipeline's batches in one stream, and finding a batch by its id alone.</summary>
    Fleet,
}

/// <summary>One polling round of a wait: reads many batches, as few requests as the backend allows.</summary>
public interface IBatchRefresher
{
    /// <summary>
    /// A result per batch that was read; a batch missing from the answer (the round was cut short by a deadline)
    /// keeps its last known state.
    /// </summary>
    Task<IReadOnlyList<RefreshResult>> RefreshAsync(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken);
}

/// <summary>Reads one batch's log forward from where the last call stopped.</summary>
public interface IBatchLogReader
{
    /// <summary>The next lines, oldest first: at most one server page; empty when there is nothing new yet.</summary>
    Task<IReadOnlyList<LogLine>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>True when the last read filled a page, so more lines are waiting now.</summary>
    bool HasMore { get; }

    /// <summary>Whether the batch is complete, so no new lines will come (-Follow's stop); reads only the batch's state.</summary>
    Task<bool> IsBatchCompleteAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A reader that goes on from where this one stopped (no line twice, none skipped) through <paramref name="engine"/>,
    /// the connection's new engine of the same backend after Disconnect-Dhub or Connect-Dhub closed this reader's.
    /// </summary>
    IBatchLogReader ContinueOn(IBatchEngine engine);
}
