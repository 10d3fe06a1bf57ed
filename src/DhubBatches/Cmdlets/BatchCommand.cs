using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Connections;
using DhubBatches.Contract;
using DhubBatches.Jobs;

namespace DhubBatches.Cmdlets;

/// <summary>
/// A command that works on batches through a connection: -Connection, which a piped Batch binds by property name
/// (so its batches are acted on where they came from), else the session's default.
/// </summary>
public abstract class BatchCommand : DhubCmdlet
{
    private DhubConnection? _sessionConnection;

    /// <summary>The connection to use instead of the session's default; a piped Batch supplies its own.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DhubConnection? Connection { get; set; }

    /// <summary>
    /// The connection for the current input: -Connection (given, or bound from the piped object), else the one the
    /// item itself came from, else the session default. Resolved per item, since piped batches may differ.
    /// </summary>
    internal DhubConnection ConnectionFor(DhubConnection? ofItem = null) =>
        Connection ?? ofItem
        // The session's connection once per command: from the environment, each look fingerprints the settings.
        ?? (_sessionConnection ??= SessionConnections.Current.Resolve(null, SessionConnections.UserAgent));

    /// <summary>Rejects ids that cannot be one path segment (<c>.</c>, <c>..</c>, blank) before any request.</summary>
    internal static void ValidateIds(string pipelineId, string? batchId = null)
    {
        DhubErrors.ValidateId(pipelineId, "PipelineId");
        if (batchId != null)
        {
            DhubErrors.ValidateId(batchId, "BatchId");
        }
    }

    /// <summary>
    /// The TargetObject of an error about one batch: a Batch known only by its ids (pipe it on), or the ids as text
    /// when no connection can be resolved.
    /// </summary>
    internal object BatchTarget(string pipelineId, string batchId, DhubConnection? ofItem = null)
    {
        try
        {
            return Batch.Placeholder(pipelineId, batchId, ConnectionFor(ofItem));
        }
        catch (DhubException)
        {
            return pipelineId + "/" + batchId;
        }
    }

    /// <summary>Fails with DhubNotSupported, before any request, when the backend cannot do this at all.</summary>
    internal static void Require(DhubConnection connection, EngineFeature feature, string what, string instead)
    {
        if (!connection.Engine.Supports(feature))
        {
            throw new DhubException(
                DhubErrorKind.DhubNotSupported,
                $"The {connection.Backend} backend cannot {what}. {instead}");
        }
    }

    /// <summary>Writes a batch, after one warning per part of its record that could not be read.</summary>
    internal void WriteBatch(Batch batch)
    {
        foreach (var warning in batch.Warnings)
        {
            WriteWarning(warning);
        }
        WriteObject(batch);
    }

    /// <summary>One non-terminating DhubInvalidResponse per unreadable record of a page; -Verbose shows its raw text.</summary>
    internal void WriteProblems(BatchPage page, DhubConnection connection)
    {
        foreach (var problem in page.Problems)
        {
            if (problem.RawText != null)
            {
                WriteVerbose("Unreadable record: " + problem.RawText); // shortened by the engine, which knows its full length
            }
            // A fleet listing's problem may name no pipeline (its deployment is what could not be read): then the id alone.
            object target = problem.BatchId == null ? problem.PipelineId
                : problem.PipelineId.Length == 0 ? problem.BatchId
                : Batch.Placeholder(problem.PipelineId, problem.BatchId, connection);
            WriteItemError(new DhubException(DhubErrorKind.DhubInvalidResponse, problem.Message), target);
        }
    }

    /// <summary>
    /// -AsJob for a wait: hands the batches (what the command would still wait for after its checks and first
    /// request) to a new <see cref="DhubJob"/> in the shared loop of job waits, registers the job for Get-Job and
    /// writes it. Call on the pipeline thread.
    /// </summary>
    internal void WriteWaitJob(IReadOnlyList<Batch> batches, WaitRules rules)
    {
        var job = NewJob();
        WaitScheduler.Shared.Start(job, RunspaceId, rules, batches);
        WriteObject(job);
    }

    /// <summary>-AsJob for work that is not a wait (a log follow): <paramref name="work"/> runs as the job, asynchronously, writing to it.</summary>
    internal void WriteJob(Func<DhubJob, CancellationToken, Task> work)
    {
        var job = NewJob();
        job.Start(RunspaceId, token => work(job, token));
        WriteObject(job);
    }

    private DhubJob NewJob()
    {
        // The command's name only: its line may carry -Parameter values that are secrets.
        var job = new DhubJob(MyInvocation.MyCommand.Name, WantsVerbose, WantsDebug);
        JobRepository.Add(job);
        return job;
    }

    private static Guid RunspaceId => Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty;

    /// <summary>-AsJob hands off a wait: without the switch that makes the command wait, there is nothing to hand off.</summary>
    internal void RequireWaitForJob(bool asJob, bool waits, string waitSwitch)
    {
        if (asJob && !waits)
        {
            ThrowTerminatingError(DhubErrors.Record(
                DhubErrorKind.DhubBadRequest,
                $"-AsJob hands off the waiting of {MyInvocation.MyCommand.Name} {waitSwitch}; add {waitSwitch}, or leave out -AsJob (without {waitSwitch} the command does not wait).",
                null));
        }
    }

    internal static TimeSpan? TimeoutFromSeconds(int seconds) => seconds < 0 ? (TimeSpan?)null : TimeSpan.FromSeconds(seconds);
}
