using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Each deployment's <see cref="StepTemplate"/>, read once per connection with one <c>task_runs/filter</c> (the task runs
/// of the deployment's completed runs, newest first: the first one names the latest completed run) and read again
/// only when a run shows a step the template does not know. Reads never fail a command: a template that cannot be read
/// is empty for a minute, and the batch shows the steps it has.
/// </summary>
internal sealed class ExpectedSteps
{
    /// <summary>How long "no completed run yet" or a failed read stands before the steps are read again.</summary>
    private static readonly TimeSpan s_retryFailedRead = TimeSpan.FromMinutes(1);

    private readonly Func<DateTimeOffset> _now;
    private readonly IPrefectApi _api;
    private readonly ServerLimit _limit;
    private readonly Func<string, CancellationToken, Task<List<PrefectTaskRun>>> _allTaskRuns;
    private readonly object _gate = new object();
    private readonly Dictionary<string, Task<StepTemplate>> _byDeployment = new Dictionary<string, Task<StepTemplate>>(StringComparer.OrdinalIgnoreCase);

    /// <param name="serverNow">The server's time: whether a run has completed since is the server's question.</param>
    public ExpectedSteps(IPrefectApi api, ServerLimit limit, Func<string, CancellationToken, Task<List<PrefectTaskRun>>> allTaskRuns, Func<DateTimeOffset> serverNow)
    {
        _now = serverNow;
        _api = api;
        _limit = limit;
        _allTaskRuns = allTaskRuns;
    }

    /// <summary>The template when it has been read already; never sends a request.</summary>
    public StepTemplate? Cached(string deploymentId)
    {
        lock (_gate)
        {
            return _byDeployment.TryGetValue(deploymentId, out var task) && task.Status == TaskStatus.RanToCompletion ? task.Result : null;
        }
    }

    /// <summary>The deployment's template, read on first use (or again once a failed read may be retried).</summary>
    public async Task<StepTemplate> GetAsync(string deploymentId, CancellationToken cancellationToken)
    {
        Task<StepTemplate> task;
        lock (_gate)
        {
            if (!_byDeployment.TryGetValue(deploymentId, out task!)
                || (task.Status == TaskStatus.RanToCompletion && task.Result.RetryAfter is { } retry && _now() >= retry))
            {
                task = Load(deploymentId, Array.Empty<string>());
                _byDeployment[deploymentId] = task;
            }
        }
        // Shared by every command of the connection, so one caller's Ctrl+C stops only its own wait for it.
        return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The template re-read because a run has steps it does not know, unless it was re-read for those names already (a
    /// step only some runs have, such as one named after a parameter, then costs nothing more).
    /// </summary>
    public async Task<StepTemplate> RefreshAsync(string deploymentId, StepTemplate known, IReadOnlyCollection<string> unknown, CancellationToken cancellationToken)
    {
        if (unknown.All(known.Tried.Contains))
        {
            return known;
        }
        Task<StepTemplate> task;
        lock (_gate)
        {
            task = _byDeployment.TryGetValue(deploymentId, out var current) && !(current.Status == TaskStatus.RanToCompletion && ReferenceEquals(current.Result, known))
                ? current // another caller refreshed it meanwhile
                : _byDeployment[deploymentId] = Load(deploymentId, known.Tried.Union(unknown, StringComparer.Ordinal).ToList());
        }
        EngineLog.Current?.Verbose($"Deployment {deploymentId}: a run has steps its expected steps did not list ({string.Join(", ", unknown)}); reading them again.");
        return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the steps of a completed run just read, at no cost, when it is newer than what the template came from (or
    /// there is none yet): how a wait learns them as its first batch completes.
    /// </summary>
    public void Adopt(string deploymentId, StepTemplate learned)
    {
        lock (_gate)
        {
            if (_byDeployment.TryGetValue(deploymentId, out var current))
            {
                if (current.Status != TaskStatus.RanToCompletion)
                {
                    return; // a read is on its way
                }
                var known = current.Result;
                if (known.SourceStart is { } start && (learned.SourceStart is not { } newer || newer <= start))
                {
                    return;
                }
            }
            _byDeployment[deploymentId] = Task.FromResult(learned);
        }
    }

    private Task<StepTemplate> Load(string deploymentId, IReadOnlyCollection<string> tried) =>
        Task.Run(() => LoadAsync(deploymentId, tried));

    private async Task<StepTemplate> LoadAsync(string deploymentId, IReadOnlyCollection<string> tried)
    {
        try
        {
            var used = 0;
            var answer = await _limit.UseAsync(limit =>
            {
                used = limit;
                return ListAnswer.ReadAsync(
                    _api.FilterTaskRunsAsync(
                        new TaskRunQuery
                        {
                            FlowRuns = new FlowRunCriteria
                            {
                                DeploymentId = new AnyFilter(deploymentId),
                                State = new StateTypeCriteria { Type = new AnyFilter("COMPLETED") },
                            },
                            Sort = "EXPECTED_START_TIME_DESC",
                            Limit = limit,
                            Offset = 0,
                        },
                        CancellationToken.None),
                    PrefectJsonContext.Default.PrefectTaskRun,
                    PrefectCalls.ApiNotFound,
                    CancellationToken.None);
            }).ConfigureAwait(false);
            var runId = answer.Items.FirstOrDefault(t => !string.IsNullOrEmpty(t.FlowRunId))?.FlowRunId;
            if (runId == null)
            {
                EngineLog.Current?.Verbose($"Deployment {deploymentId} has no completed run yet: its batches show the steps they have.");
                // Looked at again after a while: a long session learns the steps once a run completes.
                return StepTemplate.Empty(tried, _now() + s_retryFailedRead);
            }
            var taskRuns = answer.Items.Where(t => string.Equals(t.FlowRunId, runId, StringComparison.OrdinalIgnoreCase)).ToList();
            if (answer.Items.Count + answer.Unreadable.Count >= used && taskRuns.Count == answer.Items.Count)
            {
                // A full page of that one run (a task mapped over many items): its earlier steps may be on later pages.
                taskRuns = await _allTaskRuns(runId, CancellationToken.None).ConfigureAwait(false);
            }
            var template = StepTemplate.From(runId, answer.Items[0].ExpectedStartTime, taskRuns, tried);
            EngineLog.Current?.Verbose($"Deployment {deploymentId}: expected steps {string.Join(", ", template.Steps.Select(s => s.Name))} (from completed run {runId}).");
            return template;
        }
        catch (DhubException ex)
        {
            EngineLog.Current?.Verbose($"Deployment {deploymentId}: its expected steps could not be read ({ex.Message}); batches show the steps they have.");
            return StepTemplate.Empty(tried, _now() + s_retryFailedRead);
        }
    }
}
