using System;
using System.IO;
using DhubBatches.Engine.Profiles;
using Xunit;

namespace DhubBatches.Tests;

public sealed class PrefectProfileReaderTests : IDisposable
{
    private const string Profiles = """
        active = "local"

        [profiles.default]

        [profiles.local]
        PREFECT_API_URL = "http://127.0.0.1:4200/api"
        PREFECT_API_AUTH_STRING = "admin:pass"

        [profiles.cloud]
        PREFECT_API_URL = "https://api.prefect.cloud/api/accounts/a/workspaces/w"
        PREFECT_API_KEY = "pnu_testkey"
        PREFECT_LOGGING_LEVEL = "DEBUG"
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dhub-profiles-" + Guid.NewGuid().ToString("N"));

    public PrefectProfileReaderTests() => Directory.CreateDirectory(_dir);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".toml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Active_profile_is_read_when_no_name_is_given()
    {
        var path = Write(Profiles);

        var profile = PrefectProfileReader.Read(path, null);

        Assert.NotNull(profile);
        Assert.Equal("local", profile!.Name);
        Assert.Equal(path, profile.Path);
        Assert.Equal("http://127.0.0.1:4200/api", profile.ApiUrl);
        Assert.Equal("admin:pass", profile.AuthString);
        Assert.Null(profile.ApiKey);
    }

    [Fact]
    public void Explicit_name_from_PREFECT_PROFILE_wins_over_active()
    {
        var path = Write(Profiles);

        var profile = PrefectProfileReader.Read(path, "cloud");

        Assert.NotNull(profile);
        Assert.Equal("cloud", profile!.Name);
        Assert.Equal("https://api.prefect.cloud/api/accounts/a/workspaces/w", profile.ApiUrl);
        Assert.Equal("pnu_testkey", profile.ApiKey);
        Assert.Null(profile.AuthString);
    }

    [Fact]
    public void Profile_without_settings_has_no_url()
    {
        var profile = PrefectProfileReader.Read(Write(Profiles), "default");

        Assert.NotNull(profile);
        Assert.Null(profile!.ApiUrl);
    }

    [Fact]
    public void Missing_profile_gives_null()
    {
        var path = Write(Profiles);

        Assert.Null(PrefectProfileReader.Read(path, "nope"));
        Assert.Null(PrefectProfileReader.Read(Write("[profiles.local]\nPREFECT_API_URL = \"http://x/api\"\n"), null)); // no active
        Assert.Null(PrefectProfileReader.Read(Write("active = \"gone\"\n[profiles.local]\n"), null));
        Assert.Null(PrefectProfileReader.Read(Write(string.Empty), null));
    }

    [Theory]
    [InlineData("active = \n[profiles")]
    [InlineData("this is not toml at all [[")]
    [InlineData("[profiles.local]\nPREFECT_API_URL = \"unterminated\n")]
    public void Unparsable_file_is_BadRequest_naming_the_file(string text)
    {
        var path = Write(text);

        var ex = Assert.Throws<DhubException>(() => PrefectProfileReader.Read(path, null));

        Assert.Equal(DhubErrorKind.DhubBadRequest, ex.Kind);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Missing_file_is_BadRequest()
    {
        var ex = Assert.Throws<DhubException>(() => PrefectProfileReader.Read(Path.Combine(_dir, "absent.toml"), null));

        Assert.Equal(DhubErrorKind.DhubBadRequest, ex.Kind);
    }

    [Fact]
    public void Factory_entry_point_reads_the_same_way()
    {
        var profile = global::DhubBatches.Engine.BatchEngineFactory.ReadPrefectProfile(Write(Profiles), null);

        Assert.Equal("local", profile!.Name);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
