// A PowerShell host that answers No to every confirmation: what a user who declines -Confirm does. The tests' other
// runspaces have no host UI at all, so a prompt there fails instead of being declined. Compiled by Add-Type.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace DhubBatchesTests
{
    public sealed class DecliningHost : PSHost
    {
        private readonly DecliningHostUI _ui = new DecliningHostUI();

        /// <summary>How many confirmations were asked (and declined).</summary>
        public int Declined => _ui.Declined;

        public override string Name => "DecliningTestHost";
        public override Version Version { get; } = new Version(1, 0);
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    public sealed class DecliningHostUI : PSHostUserInterface
    {
        public int Declined { get; private set; }

        public override PSHostRawUserInterface RawUI => null;

        /// <summary>ShouldProcess offers Yes, Yes to All, No, No to All, Suspend: this picks No.</summary>
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            for (var i = 0; i < choices.Count; i++)
            {
                if (choices[i].Label.Replace("&", string.Empty) == "No")
                {
                    Declined++;
                    return i;
                }
            }
            throw new InvalidOperationException("The prompt offered no 'No': " + message);
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => throw new NotSupportedException();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) { }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
        public override void WriteLine(string value) { }
        public override void WriteErrorLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
    }
}
