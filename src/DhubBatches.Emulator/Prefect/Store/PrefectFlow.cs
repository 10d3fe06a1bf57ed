using System;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>A flow record (<c>Flow</c> in <c>src/prefect/server/schemas/core.py</c>): created the first time the name is used.</summary>
internal sealed record PrefectFlow(Guid Id, string Name, DateTimeOffset Created);
