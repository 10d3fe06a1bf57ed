using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// One batch's log for Get-DhubBatchLog: read what there is, and with -Follow keep reading until the batch is
/// complete. <see cref="Run"/> does it on the command's pipeline thread, <see cref="RunAsync"/> in a -AsJob job.
/// The reader follows its connection's engine: when Disconnect-Dhub or Connect-Dhub closes it mid-follow (the job
/// keeps the connection its command resolved, as a wait job does), reading goes on through the connection's new engine
/// from the same place.
/// </summary>
internal sealed class LogFollow
{
    private readonly bool _follow;
    private readonly TimeSpan _interval;
    private IBatchEngine _engine;
    private IBatchLogReader _reader;

    public LogFollow(string pipelineId, string batchId, DhubConnection connection, IBatchEngine engine, IBatchLogReader reader, bool follow, TimeSpan interval)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Connection = connection;
        _engine = engine;
        _reader = reader;
        _follow = follow;
        _interval = interval;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    public DhubConnection Connection { get; }

    public void Run(CommandPump pump, ICommandStreams output)
    {
        while (true)
        {
            WriteLines(pump, output);
            if (!_follow)
            {
                return;
            }
            if (pump.Run(token => OnCurrentEngineAsync(r => r.IsBatchCompleteAsync(token), token)))
            {
                // Lines written just before the batch ended: print what remains, then return.
                WriteLines(pump, output);
                return;
            }
            pump.Run(token => Task.Delay(_interval, token));
        }
    }

    /// <summary>The same as <see cref="Run"/>, writing to a job from whichever pool thread an answer arrives on.</summary>
    public async Task RunAsync(ICommandStreams output, CancellationToken cancellationToken)
    {
        while (true)
        {
            await WriteLinesAsync(output, cancellationToken).ConfigureAwait(false);
            if (!_follow)
            {
                return;
            }
            if (await OnCurrentEngineAsync(r => r.IsBatchCompleteAsync(cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                await WriteLinesAsync(output, cancellationToken).ConfigureAwait(false);
                return;
            }
            await Task.Delay(_interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Everything the reader has now, page by page as pages arrive.</summary>
    private void WriteLines(CommandPump pump, ICommandStreams output)
    {
        do
        {
            Write(pump.Run(token => OnCurrentEngineAsync(r => r.ReadAsync(token), token)), output);
        }
        while (_reader.HasMore);
    }

    private async Task WriteLinesAsync(ICommandStreams output, CancellationToken cancellationToken)
    {
        do
        {
            Write(await OnCurrentEngineAsync(r => r.ReadAsync(cancellationToken), cancellationToken).ConfigureAwait(false), output);
        }
        while (_reader.HasMore);
    }

    private void Write(IReadOnlyList<LogLine> lines, ICommandStreams output)
    {
        foreach (var line in lines)
        {
            output.WriteObject(new BatchLogEntry(PipelineId, BatchId, line.Step, line.Timestamp, BatchLogEntry.LevelOf(line.Level), line.Message, Connection));
        }
    }

    /// <summary>
    /// One read through the connection's engine of now. A read that fails because its engine was closed under it
    /// (a disposed client fails in its own ways, not as the server's error) is made once more through the new one.
    /// </summary>
    private async Task<T> OnCurrentEngineAsync<T>(Func<IBatchLogReader, Task<T>> read, CancellationToken cancellationToken)
    {
        MoveToCurrentEngine();
        var engine = _engine;
        try
        {
            return await read(_reader).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && !Connection.IsCurrent(engine))
        {
            MoveToCurrentEngine();
            return await read(_reader).ConfigureAwait(false);
        }
    }

    private void MoveToCurrentEngine()
    {
        if (!Connection.IsCurrent(_engine))
        {
            var engine = Connection.Engine; // a closed connection makes a new engine on first use
            _reader = _reader.ContinueOn(engine);
            _engine = engine;
        }
    }
}
