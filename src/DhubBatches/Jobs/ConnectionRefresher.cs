using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Jobs;

/// <summary>
/// The one refresher of a connection that every -AsJob wait reads through (<see cref="WaitScheduler"/> hands it the
/// union of a round's batches). It reads one round at a time, because a refresher keeps per-batch state between rounds
/// (Prefect's change tokens), and it follows the connection's engine: Connect-Dhub or Disconnect-Dhub closes the
/// session's previous connection while its jobs still wait, the connection then makes a new engine on next use, and
/// the jobs go on reading through that one.
/// </summary>
internal sealed class ConnectionRefresher
{
    private static readonly ConditionalWeakTable<DhubConnection, ConnectionRefresher> s_byConnection =
        new ConditionalWeakTable<DhubConnection, ConnectionRefresher>();

    private readonly DhubConnection _connection;
    private readonly SemaphoreSlim _oneRound = new SemaphoreSlim(1, 1);
    private IBatchEngine? _engine;
    private IBatchRefresher? _inner;

    private ConnectionRefresher(DhubConnection connection) => _connection = connection;

    public static ConnectionRefresher For(DhubConnection connection) =>
        s_byConnection.GetValue(connection, c => new ConnectionRefresher(c));

    public async Task<IReadOnlyList<RefreshResult>> RefreshAsync(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken)
    {
        await _oneRound.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (engine, refresher) = Current();
            IReadOnlyList<RefreshResult> results;
            try
            {
                results = await refresher.RefreshAsync(batches, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested && !_connection.IsCurrent(engine))
            {
                // The engine was closed under the round (its requests fail in whatever way a disposed client fails):
                // the round is read again through the connection's new engine, not reported as the server's fault.
                return await Current().Refresher.RefreshAsync(batches, cancellationToken).ConfigureAwait(false);
            }
            if (!_connection.IsCurrent(engine) && HasErrors(results))
            {
                return await Current().Refresher.RefreshAsync(batches, cancellationToken).ConfigureAwait(false);
            }
            return results;
        }
        finally
        {
            _oneRound.Release();
        }
    }

    private (IBatchEngine Engine, IBatchRefresher Refresher) Current()
    {
        var engine = _connection.Engine;
        if (!ReferenceEquals(engine, _engine) || _inner == null)
        {
            _inner = engine.CreateRefresher();
            _engine = engine;
        }
        return (engine, _inner);
    }

    private static bool HasErrors(IReadOnlyList<RefreshResult> results)
    {
        foreach (var result in results)
        {
            if (result.Error != null)
            {
                return true;
            }
        }
        return false;
    }
}
