namespace DhubBatches.Emulator.Prefect;

/// <summary>A Prefect request body as received, and the request model (<c>#/components/schemas/…</c>) it was validated against.</summary>
public sealed record PrefectRequestBody(string Method, string Path, string Model, string Body);
