using System;
using System.Collections.Generic;
using System.Threading;

namespace DhubBatches.Emulator.Dhub;

/// <summary>
/// The dhub backend's part of an emulator: its bearer token, page size limit and batches. Tests reach it as
/// <c>state.Dhub</c>; the control API under <c>/_emulator/</c> does the same things over HTTP.
/// </summary>
public sealed class DhubState
{
    private readonly EmulatorState _shared;
    private readonly EmulatorOptions _options;
    private string? _token;

    internal DhubState(EmulatorState shared, EmulatorOptions options)
    {
        _shared = shared;
        _options = options;
    }

    internal BatchStore Batches { get; } = new();

    /// <summary>Bearer token the dhub API requires; null disables authentication.</summary>
    public string? Token
    {
        get => Volatile.Read(ref _token);
        set => Volatile.Write(ref _token, value);
    }

    /// <summary>Largest accepted <c>limit</c> on the list endpoint.</summary>
    public int MaxPageSize => _options.MaxPageSize;

    /// <summary>Creates a batch as <c>POST /api/v1/batches/{pipeline}</c> does; returns its id.</summary>
    public string CreateBatch(string pipelineId, string? pipelineVersion = null) =>
        Batches.Create(pipelineId, pipelineVersion, _shared.UtcNow, Defaults)?.Id
        ?? throw new KeyNotFoundException($"Pipeline '{pipelineId}' not found");

    /// <summary>Adds <paramref name="count"/> batches; finished ones are dated in the past. Not counted as created.</summary>
    public void Seed(string pipelineId, int count, bool finished = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (Batches.Seed(pipelineId, count, finished, _shared.UtcNow, Defaults) < 0)
        {
            throw new KeyNotFoundException($"Pipeline '{pipelineId}' not found");
        }
    }

    public BatchInfo? GetBatch(string pipelineId, string batchId)
    {
        if (Batches.TryGet(pipelineId, batchId, out var batch) != StoreResult.Ok || batch is null)
        {
            return null;
        }

        return new BatchInfo(batch.Id, batch.PipelineId, batch.PipelineVersion, batch.Seq, batch.CreatedAt, batch.StoppedAt,
            BatchLifecycle.Compute(batch, _shared.UtcNow));
    }

    /// <summary>Batches currently stored for the pipeline (0 when unknown).</summary>
    public int BatchCount(string pipelineId) => Batches.Counts(pipelineId)?.Batches ?? 0;

    /// <summary>Batches created through the create call (not seeding), including deleted ones.</summary>
    public int CreatedCount(string pipelineId) => Batches.Counts(pipelineId)?.Created ?? 0;

    public IReadOnlyList<DeletedBatch> DeletedBatches => Batches.Deleted();

    internal BatchDefaults Defaults => new(_shared.StepDuration, _shared.FailingPipelinePrefix);

    internal void Reset(IEnumerable<string> pipelines)
    {
        Token = _options.Token;
        Batches.Clear(pipelines);
    }
}
