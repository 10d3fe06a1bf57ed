using System.Collections.Generic;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// What one connection's refresher answered in one round, for every wait that had batches in it: the results by batch,
/// the error that failed the whole call, or nothing at all when the round was cut short (the batches keep their last
/// known state). Built once per call and read by each wait, so a thousand waits share one answer.
/// </summary>
internal sealed class RoundAnswer
{
    private readonly Dictionary<(string PipelineId, string BatchId), RefreshResult>? _byId;

    private RoundAnswer(DhubConnection connection, Dictionary<(string, string), RefreshResult>? byId, DhubException? error)
    {
        Connection = connection;
        _byId = byId;
        Error = error;
    }

    public DhubConnection Connection { get; }

    /// <summary>The call failed as a whole: every batch of the connection gets this error.</summary>
    public DhubException? Error { get; }

    /// <summary>No answer came before the round's deadline (or the wait was stopped).</summary>
    public bool Cut => _byId == null && Error == null;

    public static RoundAnswer CutShort(DhubConnection connection) => new RoundAnswer(connection, null, null);

    /// <summary>The answer a finished refresher call gave.</summary>
    public static RoundAnswer Of(DhubConnection connection, Task<IReadOnlyList<RefreshResult>> call)
    {
        if (call.IsCanceled)
        {
            return CutShort(connection);
        }
        if (call.IsFaulted)
        {
            var inner = call.Exception!.InnerException;
            return new RoundAnswer(connection, null, inner as DhubException
                ?? new DhubException(DhubErrorKind.DhubInvalidResponse, inner?.Message ?? "The refresh failed."));
        }
        var byId = new Dictionary<(string, string), RefreshResult>(call.Result.Count);
        foreach (var result in call.Result)
        {
            byId[(result.Key.PipelineId, result.Key.BatchId)] = result;
        }
        return new RoundAnswer(connection, byId, null);
    }

    /// <summary>The result for one batch (matched by its ids, so waits that asked with their own keys all find it); null when it was not read.</summary>
    public RefreshResult? For(BatchKey key) =>
        _byId != null && _byId.TryGetValue((key.PipelineId, key.BatchId), out var result) ? result : null;
}
