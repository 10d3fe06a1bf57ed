using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Reads one flow run's log with <c>POST /logs/filter</c> (docs/prefect.md, "Logs"), forward from where the last read
/// stopped: by timestamp, which is inclusive, so the lines already seen at the last timestamp come again and are
/// dropped by id. Prefect sorts by timestamp alone, so lines sharing one may come in any order: skipping them by count
/// could skip an unseen one, and is done only when a whole page held nothing new. Task-run lines are named by their
/// step, by the same rules as Steps.
/// </summary>
internal sealed class PrefectLogReader : IBatchLogReader
{
    private readonly PrefectEngine _engine;
    private readonly LogRequest _request;
    private readonly Dictionary<string, string> _stepOfTaskRun = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _seenAtCursor = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
    private List<string>? _taskRunFilter;
    private DateTimeOffset? _cursor;
    private bool _started;
    private bool _fullPageOfSeen;

    public PrefectLogReader(PrefectEngine engine, LogRequest request)
    {
        _engine = engine;
        _request = request;
    }

    public bool HasMore { get; private set; }

    public IBatchLogReader ContinueOn(IBatchEngine engine)
    {
        var next = new PrefectLogReader((PrefectEngine)engine, _request)
        {
            _taskRunFilter = _taskRunFilter,
            _cursor = _cursor,
            _started = _started,
            _fullPageOfSeen = _fullPageOfSeen,
            HasMore = HasMore,
        };
        foreach (var pair in _stepOfTaskRun)
        {
            next._stepOfTaskRun[pair.Key] = pair.Value;
        }
        next._seenAtCursor.UnionWith(_seenAtCursor);
        return next;
    }

    public async Task<bool> IsBatchCompleteAsync(CancellationToken cancellationToken)
    {
        var run = await _engine.RunOfPipelineAsync(_request.PipelineId, _request.BatchId, cancellationToken).ConfigureAwait(false);
        return PrefectMapper.IsTerminal(run.Type);
    }

    public async Task<IReadOnlyList<LogLine>> ReadAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
            _started = true;
            if (_request.Tail is int tail)
            {
                return await TailAsync(tail, cancellationToken).ConfigureAwait(false);
            }
        }
        var used = 0;
        var offset = _fullPageOfSeen ? _seenAtCursor.Count : 0;
        var answer = await _engine.Limit.UseAsync(limit =>
        {
            used = limit;
            return ListAnswer.ReadAsync(
                _engine.Api.FilterLogsAsync(Query("TIMESTAMP_ASC", limit, offset, _cursor), cancellationToken),
                PrefectJsonContext.Default.PrefectLog,
                PrefectCalls.ApiNotFound,
                cancellationToken);
        }).ConfigureAwait(false);
        HasMore = answer.Items.Count + answer.Unreadable.Count == used;
        var fresh = answer.Items.Where(l => l.Id == null || !_seenAtCursor.Contains(l.Id)).ToList();
        _fullPageOfSeen = HasMore && fresh.Count == 0 && answer.Unreadable.Count == 0;
        return await LinesAsync(fresh, answer.Unreadable, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The newest <paramref name="count"/> lines (newest first from the server), returned oldest first.</summary>
    private async Task<IReadOnlyList<LogLine>> TailAsync(int count, CancellationToken cancellationToken)
    {
        var newestFirst = new List<PrefectLog>();
        var unreadable = new List<UnreadableEntry>();
        while (newestFirst.Count < count)
        {
            var used = 0;
            var answer = await _engine.Limit.UseAsync(
                limit =>
                {
                    used = limit;
                    return ListAnswer.ReadAsync(
                        _engine.Api.FilterLogsAsync(Query("TIMESTAMP_DESC", limit, newestFirst.Count + unreadable.Count, after: null), cancellationToken),
                        PrefectJsonContext.Default.PrefectLog,
                        PrefectCalls.ApiNotFound,
                        cancellationToken);
                },
                want: count - newestFirst.Count).ConfigureAwait(false);
            newestFirst.AddRange(answer.Items);
            unreadable.AddRange(answer.Unreadable);
            if (answer.Items.Count + answer.Unreadable.Count < used)
            {
                break;
            }
        }
        newestFirst.Reverse();
        HasMore = false;
        return await LinesAsync(newestFirst, unreadable, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        await _engine.RunOfPipelineAsync(_request.PipelineId, _request.BatchId, cancellationToken).ConfigureAwait(false);
        await LearnStepsAsync(cancellationToken).ConfigureAwait(false);
        if (_request.Steps == null)
        {
            return;
        }
        var wanted = new HashSet<string>(_request.Steps, StringComparer.OrdinalIgnoreCase);
        var known = _stepOfTaskRun.Values.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var missing = wanted.Where(w => !known.Contains(w, StringComparer.OrdinalIgnoreCase)).ToList();
        if (missing.Count > 0)
        {
            throw new DhubException(
                DhubErrorKind.DhubBadRequest,
                $"Batch {_request.PipelineId}/{_request.BatchId} has no step {string.Join(", ", missing.Select(m => "'" + m + "'"))}; "
                + (known.Count == 0 ? "it has no steps yet." : "its steps are " + string.Join(", ", known.Select(k => "'" + k + "'")) + "."));
        }
        _taskRunFilter = _stepOfTaskRun.Where(p => wanted.Contains(p.Value)).Select(p => p.Key).ToList();
    }

    /// <summary>Every task run of the batch (all attempts) → its step name.</summary>
    private async Task LearnStepsAsync(CancellationToken cancellationToken)
    {
        foreach (var taskRun in await _engine.Details.TaskRunsAsync(_request.BatchId, cancellationToken).ConfigureAwait(false))
        {
            if (taskRun.Id != null)
            {
                _stepOfTaskRun[taskRun.Id] = StepAssembler.StepName(taskRun);
            }
        }
    }

    private async Task<IReadOnlyList<LogLine>> LinesAsync(List<PrefectLog> logs, List<UnreadableEntry> unreadable, CancellationToken cancellationToken)
    {
        foreach (var entry in unreadable)
        {
            EngineLog.Current?.Warning($"A log line of batch {_request.PipelineId}/{_request.BatchId} could not be read ({entry.Reason}); it was left out.");
        }
        if (logs.Any(l => l.TaskRunId != null && !_stepOfTaskRun.ContainsKey(l.TaskRunId)))
        {
            await LearnStepsAsync(cancellationToken).ConfigureAwait(false); // a step that started since the last read
        }
        var lines = new List<LogLine>(logs.Count);
        foreach (var log in logs)
        {
            var timestamp = log.Timestamp ?? DateTimeOffset.MinValue;
            string? step = null;
            if (log.TaskRunId != null)
            {
                step = _stepOfTaskRun.TryGetValue(log.TaskRunId, out var name) ? name : log.TaskRunId;
            }
            lines.Add(new LogLine(log.Id ?? string.Empty, timestamp, log.Level, log.Message ?? string.Empty, step));
            if (_cursor == null || timestamp > _cursor.Value)
            {
                _cursor = timestamp;
                _seenAtCursor.Clear();
            }
            if (timestamp == _cursor.Value && log.Id != null)
            {
                _seenAtCursor.Add(log.Id);
            }
        }
        return lines;
    }

    private LogQuery Query(string sort, int limit, int offset, DateTimeOffset? after) => new LogQuery
    {
        Logs = new LogCriteria
        {
            FlowRunId = new AnyFilter(_request.BatchId),
            TaskRunId = _taskRunFilter == null ? null : new AnyFilter(_taskRunFilter),
            Level = _request.MinimumLevel.HasValue ? new LevelFilter { AtLeast = _request.MinimumLevel } : null,
            Timestamp = after.HasValue ? new TimeFilter { After = PrefectCalls.Time(after.Value) } : null,
        },
        Sort = sort,
        Limit = limit,
        Offset = offset,
    };
}
