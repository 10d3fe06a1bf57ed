using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Jobs;

/// <summary>
/// One connection's part of one shared round: the union of the batches its waits asked for (each once), read by the
/// connection's <see cref="ConnectionRefresher"/> in one call. It is the call's engine log too: the engine's text
/// about the call (retries, -Verbose request lines) goes to every job in it, each by its own -Verbose/-Debug choice.
/// </summary>
internal sealed class RoundCall : IEngineLog
{
    private readonly Dictionary<(string, string), BatchKey> _keys = new Dictionary<(string, string), BatchKey>();
    private readonly List<JobWait> _waits = new List<JobWait>();
    // Never disposed: a wait that gives up late may still cancel it, and it holds no timer.
    private readonly CancellationTokenSource _cancel = new CancellationTokenSource();
    private int _left;
    private bool? _verbose;

    public RoundCall(DhubConnection connection, long round)
    {
        Connection = connection;
        Round = round;
    }

    public DhubConnection Connection { get; }

    /// <summary>The round's number: a wait takes an answer only for the round it is in.</summary>
    public long Round { get; }

    /// <summary>The waits with batches in this call, each once; fixed once the call starts.</summary>
    public IReadOnlyList<JobWait> Waits => _waits;

    public bool IsVerboseEnabled => _verbose ??= _waits.Any(w => w.Log.IsVerboseEnabled);

    /// <summary>Adds one batch of <paramref name="wait"/>, which adds all of its batches of this connection in a row.</summary>
    public void Add(BatchKey key, JobWait wait)
    {
        var id = (key.PipelineId, key.BatchId);
        if (!_keys.ContainsKey(id))
        {
            _keys[id] = key;
        }
        if (_waits.Count == 0 || !ReferenceEquals(_waits[_waits.Count - 1], wait))
        {
            _waits.Add(wait);
        }
    }

    /// <summary>Sends the call; <paramref name="answered"/> runs on a pool thread once it has an outcome.</summary>
    public void Start(Action<RoundCall, Task<IReadOnlyList<RefreshResult>>> answered)
    {
        var previous = EngineLog.Current;
        EngineLog.Current = this; // captured by the call's continuations
        Task<IReadOnlyList<RefreshResult>> call;
        try
        {
            call = ConnectionRefresher.For(Connection).RefreshAsync(_keys.Values.ToList(), _cancel.Token);
        }
        catch (Exception ex)
        {
            call = Task.FromException<IReadOnlyList<RefreshResult>>(ex); // e.g. the engine could not be loaded: every wait in it hears why
        }
        finally
        {
            EngineLog.Current = previous;
        }
        call.ContinueWith(t => answered(this, t), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>A wait gave up on the call (Stop-Job, its deadline); true when it was the last, so the call should be cancelled.</summary>
    public bool Leave() => Interlocked.Increment(ref _left) >= _waits.Count;

    /// <summary>Cancels the call's requests; call it outside the scheduler's lock, since cancellation runs callbacks.</summary>
    public void Cancel() => _cancel.Cancel();

    public void Verbose(string message)
    {
        foreach (var wait in _waits)
        {
            if (!wait.IsEnded)
            {
                wait.Log.Verbose(message);
            }
        }
    }

    public void Debug(string message)
    {
        foreach (var wait in _waits)
        {
            if (!wait.IsEnded)
            {
                wait.Log.Debug(message);
            }
        }
    }

    public void Warning(string message)
    {
        foreach (var wait in _waits)
        {
            if (!wait.IsEnded)
            {
                wait.Log.Warning(message);
            }
        }
    }
}
