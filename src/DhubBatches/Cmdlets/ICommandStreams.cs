using System.Management.Automation;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Where a command's work writes its output: the running cmdlet (on its pipeline thread), or a
/// <see cref="DhubJob"/>'s collections (from any thread) when the work was handed off with -AsJob.
/// A cmdlet satisfies it with its own Write* methods.
/// </summary>
internal interface ICommandStreams
{
    void WriteObject(object sendToPipeline);

    void WriteError(ErrorRecord errorRecord);

    void WriteWarning(string text);

    void WriteVerbose(string text);

    void WriteDebug(string text);

    void WriteProgress(ProgressRecord progressRecord);
}
