using System;
using System.Management.Automation;

namespace DhubBatches;

/// <summary>Turns failures into ErrorRecords with the ErrorIds and categories of interface.md.</summary>
internal static class DhubErrors
{
    public static ErrorCategory CategoryOf(DhubErrorKind kind) => kind switch
    {
        DhubErrorKind.DhubBadRequest => ErrorCategory.InvalidArgument,
        DhubErrorKind.DhubUnauthorized => ErrorCategory.AuthenticationError,
        DhubErrorKind.DhubForbidden => ErrorCategory.PermissionDenied,
        DhubErrorKind.DhubPipelineNotFound => ErrorCategory.ObjectNotFound,
        DhubErrorKind.DhubBatchNotFound => ErrorCategory.ObjectNotFound,
        DhubErrorKind.DhubConflict => ErrorCategory.InvalidOperation,
        DhubErrorKind.DhubServiceUnavailable => ErrorCategory.ConnectionError,
        DhubErrorKind.DhubInvalidResponse => ErrorCategory.InvalidResult,
        DhubErrorKind.DhubNotConnected => ErrorCategory.ConnectionError,
        DhubErrorKind.DhubBatchActive => ErrorCategory.ResourceExists,
        DhubErrorKind.DhubBatchFailed => ErrorCategory.InvalidResult,
        DhubErrorKind.DhubWaitTimeout => ErrorCategory.OperationTimeout,
        DhubErrorKind.DhubNotSupported => ErrorCategory.NotImplemented,
        _ => ErrorCategory.NotSpecified,
    };

    public static ErrorRecord Record(DhubException ex, object? target)
    {
        var record = new ErrorRecord(ex, ex.Kind.ToString(), CategoryOf(ex.Kind), target);
        if (ex.Kind == DhubErrorKind.DhubNotConnected)
        {
            record.ErrorDetails = new ErrorDetails(ex.Message)
            {
                RecommendedAction = "Run Connect-Dhub -Uri <api url> -Token (Read-Host -AsSecureString), or set DHUB_API_URL / PREFECT_API_URL.",
            };
        }
        else if (ex.MayHaveBeenApplied)
        {
            record.ErrorDetails = new ErrorDetails(ex.Message)
            {
                RecommendedAction = "The request may have been applied. Check with Get-DhubBatch before starting again.",
            };
        }
        return record;
    }

    public static ErrorRecord Record(DhubErrorKind kind, string message, object? target) =>
        Record(new DhubException(kind, message), target);

    /// <summary>Rejects ids that cannot travel as one path segment, before any request is made.</summary>
    public static void ValidateId(string value, string parameterName)
    {
        if (value == "." || value == "..")
        {
            throw new DhubException(
                DhubErrorKind.DhubBadRequest,
                $"'{value}' is not a valid {parameterName}: HTTP stacks collapse '.' and '..' path segments, so it could address another resource.");
        }
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"{parameterName} must not be empty.");
        }
    }

    public static DhubException NotConnected() => new DhubException(
        DhubErrorKind.DhubNotConnected,
        "Not connected to a dhub or Prefect API. Run Connect-Dhub -Uri <url> [-Token <SecureString>] " +
        "[-Backend Dhub|Prefect], or set DHUB_API_URL (+ DHUB_API_TOKEN), PREFECT_API_URL (+ PREFECT_API_KEY or " +
        "PREFECT_API_AUTH_STRING), or an active profile in Prefect's profiles.toml.");
}
