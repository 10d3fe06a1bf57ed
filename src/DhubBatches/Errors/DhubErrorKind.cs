namespace DhubBatches;

/// <summary>
/// Every failure the module reports. The names are the ErrorIds of interface.md, so scripts can match
/// <c>FullyQualifiedErrorId</c>; <see cref="DhubErrors"/> maps each to its ErrorCategory.
/// </summary>
public enum DhubErrorKind
{
    DhubBadRequest,
    DhubUnauthorized,
    DhubForbidden,
    DhubPipelineNotFound,
    DhubBatchNotFound,
    DhubConflict,
    DhubServiceUnavailable,
    DhubInvalidResponse,
    DhubNotConnected,
    DhubBatchActive,
    DhubBatchFailed,
    DhubWaitTimeout,
    DhubNotSupported,
}
