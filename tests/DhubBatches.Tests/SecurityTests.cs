using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading;
using DhubBatches.Connections;
using DhubBatches.Emulator;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>interface.md "Secrets", "Connections" and -SkipCertificateCheck: what a secret may never do.</summary>
public sealed class SecurityTests : EmulatorTestBase
{
    private const string Marker = "MARKER-5e1f9c";

    public SecurityTests(EmulatorFixture fixture)
        : base(fixture)
    {
    }

    // ---- (a) no Authorization after a redirect to another host ----

    [Fact]
    public async Task Authorization_is_not_forwarded_on_a_redirect_to_another_host()
    {
        await using var other = await EmulatorServer.StartAsync(new EmulatorOptions { Token = null, Pipelines = new List<string> { "p" } });
        var location = $"http://localhost:{other.BaseUri.Port}/api/v1/batches/p/b";
        State.AddFault(new FaultRule
        {
            Method = "GET", PathPattern = "^/api/v1/batches/p/b$", Status = 307, Times = 0,
            Headers = new Dictionary<string, string> { ["Location"] = location },
        });
        using var engine = NewEngine(s => s.MaximumRetryCount = 0);

        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync("p", "b", CancellationToken.None));

        var first = Assert.Single(Requests());
        Assert.Equal(307, first.Status);
        Assert.Equal("present", first.Authorization);
        var redirected = Assert.Single(other.State.Requests);
        Assert.Equal(new[] { "api", "v1", "batches", "p", "b" }, redirected.PathSegments);
        Assert.Equal("absent", redirected.Authorization);
        Assert.DoesNotContain(EmulatorFixture.Token, ex.ToString());
    }

    // ---- (b) plain http to another host with a secret ----

    [Theory]
    [InlineData("http://example.invalid/", AuthenticationKind.Bearer, false, true)]
    [InlineData("http://10.1.2.3:4200/api", AuthenticationKind.Basic, false, true)]
    [InlineData("http://example.invalid/", AuthenticationKind.Bearer, true, false)]
    [InlineData("https://example.invalid/", AuthenticationKind.Bearer, false, false)]
    [InlineData("http://127.0.0.1:4200/api", AuthenticationKind.Basic, false, false)]
    [InlineData("http://localhost:4200/api", AuthenticationKind.Bearer, false, false)]
    [InlineData("http://[::1]:4200/api", AuthenticationKind.Bearer, false, false)]
    [InlineData("http://example.invalid/", AuthenticationKind.None, false, false)]
    public void CheckTransport_refuses_a_secret_over_plain_http_to_another_host(string uri, AuthenticationKind authentication, bool allow, bool refused)
    {
        var error = Record.Exception(() => ConnectionPolicy.CheckTransport(new Uri(uri), authentication, allow));

        if (refused)
        {
            var ex = Assert.IsType<DhubException>(error);
            Assert.Equal(DhubErrorKind.DhubBadRequest, ex.Kind);
            Assert.Contains("AllowUnencryptedAuthentication", ex.Message);
        }
        else
        {
            Assert.Null(error);
        }
    }

    [Fact]
    public void Connect_Dhub_with_a_token_over_plain_http_to_another_host_is_DhubBadRequest()
    {
        using var session = new PowerShellSession();
        session.Set("tok", Secure(Marker));
        session.Set("cred", new PSCredential("user", Secure(Marker)));

        var (ps, output) = session.Run("""
            foreach ($c in @(
                { Connect-Dhub -Uri http://example.invalid -Token $tok -MaximumRetryCount 0 -TimeoutSec 2 },
                { Connect-Dhub -Uri http://example.invalid/api -Backend Prefect -Token $tok -MaximumRetryCount 0 -TimeoutSec 2 },
                { Connect-Dhub -Uri http://example.invalid/api -Backend Prefect -Credential $cred -MaximumRetryCount 0 -TimeoutSec 2 })) {
                try { & $c -ErrorAction Stop; 'connected' } catch { $_ }
            }
            Get-DhubConnection
            """);
        using var _ = ps;

        Assert.Equal(3, output.Count);
        Assert.All(output, o =>
        {
            var record = Assert.IsType<ErrorRecord>(o.BaseObject);
            Assert.StartsWith("DhubBadRequest,", record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
            Assert.Contains("AllowUnencryptedAuthentication", record.ToString());
            Assert.DoesNotContain(Marker, record.ToString());
        });
    }

    // ---- (c) -SkipCertificateCheck is the only way to accept an invalid certificate ----

    [Fact]
    public async Task An_untrusted_certificate_fails_with_DhubServiceUnavailable_unless_SkipCertificateCheck()
    {
        await using var https = await EmulatorServer.StartAsync(new EmulatorOptions { Token = EmulatorFixture.Token, StepDuration = TimeSpan.Zero });
        Assert.Equal("http", https.BaseUri.Scheme); // the default stays plain http
        await using var tls = await EmulatorServer.StartAsync(new EmulatorOptions { Token = EmulatorFixture.Token, StepDuration = TimeSpan.Zero, UseHttps = true });
        Assert.Equal("https", tls.BaseUri.Scheme);
        Assert.NotNull(tls.Certificate);
        var id = tls.State.Dhub.CreateBatch("orders");

        IBatchEngine Engine(bool skip) => global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(tls.BaseUri, BackendKind.Dhub)
        {
            Authentication = AuthenticationKind.Bearer,
            Secret = Secure(EmulatorFixture.Token),
            MaximumRetryCount = 0,
            RetryIntervalSec = 0,
            TimeoutSec = 10,
            SkipCertificateCheck = skip,
        });

        using (var strict = Engine(skip: false))
        {
            var ex = await Assert.ThrowsAsync<DhubException>(() => strict.GetAsync("orders", id, CancellationToken.None));
            Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
            Assert.Contains("SSL", ex.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(tls.State.Requests); // the handshake failed: no request reached the API
        }

        using (var lenient = Engine(skip: true))
        {
            var batch = await lenient.GetAsync("orders", id, CancellationToken.None);
            Assert.Equal(id, batch.Id);
            Assert.Equal("present", Assert.Single(tls.State.Requests).Authorization);
        }

        using var prefect = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(tls.PrefectBaseUri, BackendKind.Prefect) { MaximumRetryCount = 0, SkipCertificateCheck = true });
        await prefect.VerifyAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Connect_Dhub_over_https_needs_SkipCertificateCheck_for_the_self_signed_emulator()
    {
        await using var tls = await EmulatorServer.StartAsync(new EmulatorOptions { Token = EmulatorFixture.Token, StepDuration = TimeSpan.Zero, UseHttps = true });
        tls.State.Dhub.CreateBatch("orders");
        using var session = new PowerShellSession();
        session.Set("uri", tls.BaseUri);
        session.Set("tok", Secure(EmulatorFixture.Token));

        var (ps, output) = session.Run("""
            try { Connect-Dhub -Uri $uri -Token $tok -MaximumRetryCount 0 -ErrorAction Stop; 'connected' } catch { $_ }
            Connect-Dhub -Uri $uri -Token $tok -MaximumRetryCount 0 -SkipCertificateCheck
            (Get-DhubBatch -PipelineId orders).PipelineId
            """);
        using var _ = ps;

        Assert.Empty(ps.Streams.Error);
        Assert.Equal(2, output.Count);
        var refused = Assert.IsType<ErrorRecord>(output[0].BaseObject);
        Assert.StartsWith("DhubServiceUnavailable,", refused.FullyQualifiedErrorId);
        Assert.Equal("orders", output[1].BaseObject);
    }

    // ---- (d) secrets never in messages, records, ToString or JSON ----

    private static readonly string BasicMarker = "user:" + Marker;

    private static IEnumerable<string> Forbidden() => new[]
    {
        Marker,
        Convert.ToBase64String(Encoding.UTF8.GetBytes(BasicMarker)),
        Convert.ToBase64String(Encoding.UTF8.GetBytes(BasicMarker)).TrimEnd('='),
    };

    private static void AssertNoSecret(string? text, string what)
    {
        foreach (var secret in Forbidden())
        {
            Assert.False(text != null && text.Contains(secret, StringComparison.Ordinal), $"{what} contains the secret: {text}");
        }
    }

    private static void AssertNoSecret(Exception ex)
    {
        AssertNoSecret(ex.Message, "Message");
        AssertNoSecret(ex.ToString(), "ToString()");
        if (ex is DhubException dhub)
        {
            AssertNoSecret(dhub.ServerMessage, "ServerMessage");
            var record = DhubErrors.Record(dhub, "orders");
            AssertNoSecret(record.ToString(), "ErrorRecord");
            AssertNoSecret(record.ErrorDetails?.Message, "ErrorDetails");
            AssertNoSecret(record.ErrorDetails?.RecommendedAction, "RecommendedAction");
            AssertNoSecret(record.CategoryInfo.ToString(), "CategoryInfo");
        }
    }

    [Fact]
    public async Task Engine_errors_never_carry_the_secret_on_any_failure_path()
    {
        State.Dhub.Token = Marker;
        State.Prefect.ApiKey = null;
        var failures = new List<Exception>();
        var log = new CollectingLog();
        EngineLog.Current = log;

        IBatchEngine Dhub(string secret, Uri? uri = null, int timeout = 10) => global::DhubBatches.Engine.BatchEngineFactory.Create(
            new EngineSettings(uri ?? Fixture.BaseUri, BackendKind.Dhub)
            {
                Authentication = AuthenticationKind.Bearer, Secret = Secure(secret), MaximumRetryCount = 0, RetryIntervalSec = 0, TimeoutSec = timeout,
            });

        async Task Fail(Func<Task> call)
        {
            try
            {
                await call();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        using (var wrong = Dhub(Marker + "-wrong"))
        {
            await Fail(() => wrong.GetLatestAsync("orders", CancellationToken.None)); // 401
        }
        using (var right = Dhub(Marker))
        {
            State.StepDuration = TimeSpan.Zero;
            var id = State.Dhub.CreateBatch("orders");
            var batch = Batches.Of(await right.GetAsync("orders", id, CancellationToken.None)); // success
            AssertNoSecret(batch.ToString(), "Batch.ToString()");
            AssertNoSecret(batch.StepSummary, "StepSummary");
            AssertNoSecret(batch.Connection.ToString(), "Batch.Connection.ToString()");
            State.AddFault(new FaultRule { Method = "GET", Status = 500, Body = "{\"message\":\"boom\"}" });
            await Fail(() => right.GetAsync("orders", id, CancellationToken.None)); // 5xx
            State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = "<html>proxy</html>", ContentType = "text/html" });
            await Fail(() => right.GetAsync("orders", id, CancellationToken.None)); // not JSON
            State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Drop });
            await Fail(() => right.GetAsync("orders", id, CancellationToken.None)); // network
            await Fail(() => right.GetAsync("no-such", "x", CancellationToken.None)); // 404
        }
        using (var refused = Dhub(Marker, new Uri("http://127.0.0.1:9/")))
        {
            await Fail(() => refused.GetLatestAsync("orders", CancellationToken.None)); // connection refused
        }

        // Prefect: API key (Bearer) and basic auth string.
        State.Prefect.ApiKey = Marker;
        using (var key = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            Authentication = AuthenticationKind.Bearer, Secret = Secure(Marker + "x"), MaximumRetryCount = 0,
        }))
        {
            await Fail(() => key.VerifyAsync(CancellationToken.None));
        }
        State.Prefect.ApiKey = null;
        State.Prefect.AuthString = BasicMarker;
        using (var basic = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            Authentication = AuthenticationKind.Basic, Secret = Secure(BasicMarker), MaximumRetryCount = 0,
        }))
        {
            await basic.VerifyAsync(CancellationToken.None);
            State.AddFault(new FaultRule { Method = "POST", Status = 422, Body = "{\"exception_message\":\"Invalid request received.\",\"exception_detail\":[{\"loc\":[\"body\",\"x\"],\"msg\":\"Extra inputs are not permitted\"}]}" });
            await Fail(() => basic.StartAsync(new StartRequest("orders"), CancellationToken.None));
            State.Prefect.AuthString = BasicMarker + "-changed";
            await Fail(() => basic.GetLatestAsync("orders", CancellationToken.None));
        }

        Assert.True(failures.Count >= 9, string.Join("\n", failures.Select(f => f.Message)));
        Assert.All(failures, f => Assert.IsType<DhubException>(f));
        Assert.Contains(failures, f => ((DhubException)f).Kind == DhubErrorKind.DhubUnauthorized);
        Assert.Contains(failures, f => ((DhubException)f).Kind == DhubErrorKind.DhubServiceUnavailable);
        Assert.Contains(failures, f => ((DhubException)f).Kind == DhubErrorKind.DhubInvalidResponse);
        Assert.Contains(failures, f => ((DhubException)f).Kind == DhubErrorKind.DhubBadRequest);
        Assert.All(failures, AssertNoSecret);
        Assert.All(log.All, line => AssertNoSecret(line, "engine log"));
        Assert.All(State.Requests, r => AssertNoSecret(r.ToString(), "emulator request log"));
    }

    [Fact]
    public void Connection_and_batch_ToString_and_ConvertTo_Json_never_show_the_secret()
    {
        State.Dhub.Token = Marker;
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");
        State.Prefect.AuthString = BasicMarker;
        using var session = new PowerShellSession();
        session.Set("uri", Fixture.BaseUri);
        session.Set("puri", Fixture.Server.PrefectBaseUri);
        session.Set("tok", Secure(Marker));
        session.Set("bad", Secure(Marker + "-wrong"));
        session.Set("cred", new PSCredential("user", Secure(Marker)));
        session.Set("badcred", new PSCredential("user", Secure(Marker + "-wrong")));

        var (ps, output) = session.Run("""
            $c = Connect-Dhub -Uri $uri -Token $tok -RetryIntervalSec 0 -PassThru -Verbose
            $c; "$c"; $c.ToString(); $c | Format-List * | Out-String; $c | ConvertTo-Json -Depth 5
            $b = Get-DhubBatch -PipelineId orders -Verbose
            $b; "$b"; $b | ConvertTo-Json -Depth 6; $b | Format-List * | Out-String; $b.Steps | ConvertTo-Json -Depth 6
            $b | ConvertTo-Csv -NoTypeInformation
            Get-DhubBatch -PipelineId no-such -Verbose
            Connect-Dhub -Uri $uri -Token $bad -RetryIntervalSec 0 -MaximumRetryCount 0 -Verbose
            $p = Connect-Dhub -Uri $puri -Backend Prefect -Credential $cred -RetryIntervalSec 0 -PassThru -Verbose
            $p; $p | ConvertTo-Json -Depth 5; $p.ToString()
            Connect-Dhub -Uri $puri -Backend Prefect -Credential $badcred -RetryIntervalSec 0 -MaximumRetryCount 0 -Verbose
            Connect-Dhub -Uri $puri -Backend Prefect -Token $bad -RetryIntervalSec 0 -MaximumRetryCount 0 -Verbose
            Get-DhubConnection | ConvertTo-Json -Depth 5
            $Error | ForEach-Object { $_ | Format-List * -Force | Out-String; $_.Exception | Format-List * -Force | Out-String }
            """);
        using var _ = ps;

        Assert.True(ps.Streams.Error.Count >= 4, string.Join("\n", ps.Streams.Error));
        Assert.Contains(ps.Streams.Error, e => e.FullyQualifiedErrorId.StartsWith("DhubUnauthorized,", StringComparison.Ordinal));
        Assert.NotEmpty(ps.Streams.Verbose);
        Assert.Contains(output, o => o.BaseObject is DhubConnection { Authentication: AuthenticationKind.Basic });
        Assert.Contains(output, o => o.BaseObject is Batch);
        var text = PowerShellSession.AllText(ps, output).ToList();
        Assert.All(text, t => AssertNoSecret(t, "runspace output"));
        Assert.All(ps.Streams.Error, e => AssertNoSecret(e.Exception?.ToString(), "ErrorRecord.Exception"));
    }
}
