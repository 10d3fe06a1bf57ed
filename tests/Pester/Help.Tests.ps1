# Help: what Get-Help shows for the ASSEMBLED module (in a fresh pwsh), the generator's failure rules, the markdown's
# generated metadata being in sync with the cmdlets, and every runnable example executed against the emulator.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-Module (Join-Path (Get-TestRepoRoot) 'tools/Help/MamlHelp.psm1') -Force
    $script:DocsPath = Join-Path (Get-TestRepoRoot) 'docs/help'
    $Commands = @(
        'Connect-Dhub', 'Disconnect-Dhub', 'Get-DhubConnection', 'Start-DhubBatch',
        'Get-DhubBatch', 'Stop-DhubBatch', 'Remove-DhubBatch', 'Wait-DhubBatch',
        'Restart-DhubBatch', 'Get-DhubBatchLog'
    ) | ForEach-Object { @{ Command = $_ } }
    $Examples = foreach ($c in $Commands) {
        $page = ConvertFrom-HelpMarkdown -Path (Join-Path $script:DocsPath "$($c.Command).md")
        $n = 0
        foreach ($example in $page.Examples) {
            $n++
            @{ Command = $c.Command; Number = $n; Title = $example.Title; Code = $example.Code; NoRun = $example.NoRun }
        }
    }
    $RunnableExamples = @($Examples | Where-Object { -not $_.NoRun })
    $NoRunExamples = @($Examples | Where-Object { $_.NoRun })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-Module (Join-Path (Get-TestRepoRoot) 'tools/Help/MamlHelp.psm1') -Force
    $script:DocsPath = Join-Path (Get-TestRepoRoot) 'docs/help'
    $script:BuildHelp = Join-Path (Get-TestRepoRoot) 'tools/Help/Build-Help.ps1'

    function Invoke-TestChildScript {
        <# Runs a script in a fresh pwsh -NoProfile; returns its exit code and combined output. #>
        param([string] $Script, [string[]] $ArgumentList = @())
        $file = Join-Path $TestDrive ("child-" + [guid]::NewGuid().ToString('n') + '.ps1')
        Set-Content -Path $file -Value $Script -Encoding utf8NoBOM
        $command = @(Get-ChildPwshCommand)
        $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file) + $ArgumentList
        $output = & $command[0] @arguments 2>&1 | Out-String
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
    }

    function Invoke-TestBuildHelp {
        <# Build-Help.ps1 in a fresh pwsh against the assembled module, writing to a TestDrive folder. #>
        param([string] $Docs, [string] $Output)
        $command = @(Get-ChildPwshCommand)
        $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script:BuildHelp,
            '-ModulePath', (Get-TestModulePath), '-DocsPath', $Docs, '-OutputPath', $Output)
        $text = & $command[0] @arguments 2>&1 | Out-String
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $text }
    }

    function Copy-TestDocs {
        param([string] $Name)
        $target = Join-Path $TestDrive $Name
        Copy-Item $script:DocsPath $target -Recurse
        $target
    }
}

Describe 'Get-Help for the assembled module' -Tag 'Help' {
    BeforeAll {
        # A fresh session that imports the assembled module and reports what Get-Help shows, as JSON.
        $script:HelpJson = Join-Path $TestDrive 'help.json'
        $script:Child = Invoke-TestChildScript -Script @'
param($ModulePath, $OutFile)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'DhubBatches.psd1')
$result = @{}
foreach ($name in (Get-Command -Module DhubBatches).Name) {
    $help = Get-Help $name -Full
    $result[$name] = @{
        Synopsis    = [string]$help.Synopsis
        Description = @($help.description | ForEach-Object Text)
        Parameters  = @(foreach ($p in @($help.parameters.parameter)) { if ($p) { @{ Name = $p.name; Text = (@($p.description | ForEach-Object Text) -join "`n") } } })
        Examples    = @(foreach ($e in @($help.examples.example)) { if ($e) { @{ Title = $e.title; Code = $e.code; Remarks = (@($e.remarks | ForEach-Object Text) -join "`n") } } })
        Links       = @($help.relatedLinks.navigationLink | ForEach-Object { "$($_.linkText)|$($_.uri)" })
        Full        = ($help | Out-String -Width 200)
    }
}
$about = Get-Help about_DhubBatches | Out-String -Width 200
$result['about_DhubBatches'] = @{ Full = $about }
$result | ConvertTo-Json -Depth 6 | Set-Content -Path $OutFile -Encoding utf8NoBOM
'@ -ArgumentList @((Get-TestModulePath), $HelpJson)
        $script:Help = if (Test-Path $HelpJson) { Get-Content -Raw $HelpJson | ConvertFrom-Json -AsHashtable } else { @{} }
    }

    It "the help files are in the module folder's en-US" {
        Join-Path (Get-TestModulePath) 'en-US/DhubBatches.dll-Help.xml' | Should -Exist
        Join-Path (Get-TestModulePath) 'en-US/about_DhubBatches.help.txt' | Should -Exist
    }

    It 'the help XML is MAML, UTF-8 without a BOM, one command:command per cmdlet' {
        $path = Join-Path (Get-TestModulePath) 'en-US/DhubBatches.dll-Help.xml'
        $bytes = [IO.File]::ReadAllBytes($path)
        ($bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB) | Should -BeFalse
        $xml = [xml](Get-Content -Raw $path)
        $xml.helpItems.schema | Should -Be 'maml'
        @($xml.helpItems.command).Count | Should -Be 11
    }

    It 'the fresh session read help for every command' {
        $Child.ExitCode | Should -Be 0 -Because $Child.Output
        $Help.Keys.Count | Should -Be 12
    }

    Context '<Command>' -ForEach $Commands {
        BeforeAll {
            $script:Page = ConvertFrom-HelpMarkdown -Path (Join-Path $DocsPath "$Command.md")
            $script:Shown = $Help[$Command]
        }

        It 'shows the written synopsis, not the generated syntax' {
            $Shown.Synopsis | Should -Be $Page.Synopsis
            $Shown.Synopsis | Should -Not -Match ([regex]::Escape("$Command ["))
        }

        It 'shows the description' {
            $Shown.Description.Count | Should -Be $Page.Description.Count
            $Shown.Description[0].Trim() | Should -Be $Page.Description[0]
            $Shown.Full | Should -Match 'DESCRIPTION'
        }

        It "shows every parameter's description" {
            Import-TestModule
            $real = @((Get-HelpCommandMetadata -Command (Get-Command $Command -Module DhubBatches)).Parameters | ForEach-Object Name)
            foreach ($name in $real) {
                $p = @($Shown.Parameters | Where-Object { $_.Name -eq $name })
                $p.Count | Should -Be 1 -Because "-$name must be in Get-Help -Full"
                $p[0].Text.Trim() | Should -Be ($Page.Parameters[$name].Description -join "`n") -Because "-$name"
            }
        }

        It 'shows the examples with their code and remarks' {
            $Shown.Examples.Count | Should -Be $Page.Examples.Count
            $Shown.Examples.Count | Should -BeGreaterOrEqual 2
            for ($i = 0; $i -lt $Page.Examples.Count; $i++) {
                $Shown.Examples[$i].Title | Should -Match ([regex]::Escape($Page.Examples[$i].Title))
                $Shown.Examples[$i].Code | Should -Be $Page.Examples[$i].Code
                foreach ($para in $Page.Examples[$i].Intro + $Page.Examples[$i].Remarks) {
                    $Shown.Examples[$i].Remarks | Should -Match ([regex]::Escape($para))
                }
            }
        }

        It 'the first related link is the online version' {
            $Shown.Links[0] | Should -Be "Online Version:|$($Page.OnlineVersion)"
        }

        It "the page's SYNTAX and yaml blocks match the cmdlet (else run tools/Help/Build-Help.ps1 -UpdateMarkdown)" {
            Import-TestModule
            $path = Join-Path $DocsPath "$Command.md"
            $text = (Get-Content -Raw $path) -replace "`r`n", "`n"
            $metadata = Get-HelpCommandMetadata -Command (Get-Command $Command -Module DhubBatches)
            Update-HelpMarkdownMetadata -Text $text -Metadata $metadata | Should -Be $text
        }
    }

    It 'Get-Help about_DhubBatches shows the topic' {
        $text = $Help['about_DhubBatches'].Full
        $text | Should -Match 'about_DhubBatches'
        $text | Should -Match 'DHUB_API_URL'
        $text | Should -Match 'DhubWaitTimeout'
    }

    It 'the about topic is plain text wrapped at 80 columns' {
        $lines = Get-Content (Join-Path (Get-TestModulePath) 'en-US/about_DhubBatches.help.txt')
        @($lines | Where-Object { $_.Length -gt 80 }) | Should -BeNullOrEmpty
        ($lines -join "`n") | Should -Not -Match '```|\*\*|^#'
    }
}

Describe 'Build-Help.ps1' -Tag 'Help' {
    It 'builds from the real docs' {
        $out = Join-Path $TestDrive 'ok'
        $run = Invoke-TestBuildHelp -Docs (Copy-TestDocs 'docs-ok') -Output $out
        $run.ExitCode | Should -Be 0 -Because $run.Output
        Join-Path $out 'DhubBatches.dll-Help.xml' | Should -Exist
    }

    It 'fails when a page misses a real parameter' {
        $docs = Copy-TestDocs 'docs-missing-param'
        $path = Join-Path $docs 'Wait-DhubBatch.md'
        $text = Get-Content -Raw $path
        $text = [regex]::Replace($text, '(?s)### -PollingInterval\n.*?(?=### -Any)', '')
        Set-Content $path $text -NoNewline
        $run = Invoke-TestBuildHelp -Docs $docs -Output (Join-Path $TestDrive 'missing-param')
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Match 'Wait-DhubBatch.*-PollingInterval is not documented'
    }

    It 'fails when a parameter description is empty' {
        $docs = Copy-TestDocs 'docs-empty-param'
        $path = Join-Path $docs 'Stop-DhubBatch.md'
        $text = Get-Content -Raw $path
        $text = [regex]::Replace($text, '(?s)(### -PassThru\n).*?(?=```yaml)', "`$1`n")
        Set-Content $path $text -NoNewline
        $run = Invoke-TestBuildHelp -Docs $docs -Output (Join-Path $TestDrive 'empty-param')
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Match 'Stop-DhubBatch.*-PassThru has an empty description'
    }

    It 'fails when a page documents a parameter the cmdlet does not have' {
        $docs = Copy-TestDocs 'docs-fake-param'
        $path = Join-Path $docs 'Get-DhubBatch.md'
        $text = (Get-Content -Raw $path) -replace '### CommonParameters', "### -Recurse`nNot a real parameter.`n`n### CommonParameters"
        Set-Content $path $text -NoNewline
        $run = Invoke-TestBuildHelp -Docs $docs -Output (Join-Path $TestDrive 'fake-param')
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Match 'Get-DhubBatch.*-Recurse, which the cmdlet does not have'
    }

    It 'fails when a command has no page' {
        $docs = Copy-TestDocs 'docs-missing-page'
        Remove-Item (Join-Path $docs 'Remove-DhubBatch.md')
        $run = Invoke-TestBuildHelp -Docs $docs -Output (Join-Path $TestDrive 'missing-page')
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Match 'Remove-DhubBatch: no help page'
    }

    It 'fails when a page lacks a synopsis or its second example' {
        $docs = Copy-TestDocs 'docs-thin-page'
        $path = Join-Path $docs 'Disconnect-Dhub.md'
        $text = Get-Content -Raw $path
        $text = [regex]::Replace($text, '(?s)(## SYNOPSIS\n).*?(?=## SYNTAX)', "`$1`n")
        $text = [regex]::Replace($text, '(?s)### Example 2:.*?(?=## PARAMETERS)', '')
        Set-Content $path $text -NoNewline
        $run = Invoke-TestBuildHelp -Docs $docs -Output (Join-Path $TestDrive 'thin-page')
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Match 'Disconnect-Dhub.*SYNOPSIS is missing'
        $run.Output | Should -Match 'Disconnect-Dhub.*at least two examples'
    }
}

Describe 'MamlHelp module' -Tag 'Help' {
    It 'parses a page into prose: paragraphs, examples with intro/code/remarks, no-run marks, links' {
        $path = Join-Path $TestDrive 'Sample.md'
        Set-Content $path @'
---
online version: https://example.com/sample
---

# Get-Sample

## SYNOPSIS
Gets **a** `sample`
over two lines.

## DESCRIPTION
First paragraph with [a link](https://example.com).

- item one
- item two

## EXAMPLES

### Example 1: First
Intro text.

```powershell
Get-Sample # a comment, not a heading
# also not a heading
```

After the code.

### Example 2: Second
<!-- no-run -->
```powershell
Get-Sample -Prompt
```

## PARAMETERS

### -Name
The name & <value>.

```yaml
Type: System.String
```

### CommonParameters
Common.

## RELATED LINKS
[Other](Other.md)
'@
        $page = ConvertFrom-HelpMarkdown -Path $path
        $page.Name | Should -Be 'Get-Sample'
        $page.Synopsis | Should -Be 'Gets a sample over two lines.'
        $page.Description | Should -Be @('First paragraph with a link.', '- item one', '- item two')
        $page.Examples.Count | Should -Be 2
        $page.Examples[0].Intro | Should -Be @('Intro text.')
        $page.Examples[0].Code | Should -Be "Get-Sample # a comment, not a heading`n# also not a heading"
        $page.Examples[0].Remarks | Should -Be @('After the code.')
        $page.Examples[0].NoRun | Should -BeFalse
        $page.Examples[1].NoRun | Should -BeTrue
        @($page.Parameters.Keys) | Should -Be @('Name')
        $page.Parameters['Name'].Description | Should -Be @('The name & <value>.')
        $page.OnlineVersion | Should -Be 'https://example.com/sample'
        $page.Links[0].Uri | Should -Be 'Other.md'
    }

    It 'pads example titles with dashes to 64 characters' {
        $title = Get-PaddedExampleTitle 'Example 1: Start a batch'
        $title.Length | Should -Be 64
        $title | Should -Match '^-+ Example 1: Start a batch -+$'
    }

    It 'escapes XML and keeps the online version first' {
        Import-TestModule
        $metadata = Get-HelpCommandMetadata -Command (Get-Command Disconnect-Dhub)
        $page = [pscustomobject]@{
            Synopsis = 'a < b & c'; Description = @('x'); Examples = @(); Parameters = [ordered]@{}; Inputs = @(); Outputs = @()
            Notes = @(); Links = @([pscustomobject]@{ Text = 'Relative'; Uri = 'Other.md' }); OnlineVersion = 'https://example.com/x'
        }
        $text = ConvertTo-MamlHelp -Item @([pscustomobject]@{ Page = $page; Metadata = $metadata })
        $text | Should -Match 'a &lt; b &amp; c'
        $xml = [xml]$text
        $ns = [System.Xml.XmlNamespaceManager]::new($xml.NameTable)
        $ns.AddNamespace('maml', 'http://schemas.microsoft.com/maml/2004/10')
        $links = $xml.SelectNodes('//maml:navigationLink', $ns)
        $links[0].linkText | Should -Be 'Online Version:'
        $links[0].uri | Should -Be 'https://example.com/x'
        $links[1].uri | Should -BeNullOrEmpty
    }

    It 'takes parameter metadata from the cmdlet: sets, position, pipeline input, aliases, defaults, accepted values' {
        Import-TestModule
        $m = Get-HelpCommandMetadata -Command (Get-Command Start-DhubBatch)
        $pipelineId = $m.Parameters | Where-Object Name -EQ PipelineId
        $pipelineId.Type | Should -Be 'System.String'
        $pipelineId.Sets[0].Position | Should -Be '0'
        $pipelineId.Sets[0].PipelineInput | Should -Be 'True (ByPropertyName, ByValue)'
        ($m.Parameters | Where-Object Name -EQ IfActive).AcceptedValues | Should -Be @('Start', 'Skip', 'Fail')
        ($m.Parameters | Where-Object Name -EQ Timeout).DefaultValue | Should -Be '-1'
        ($m.Parameters | Where-Object Name -EQ Wait).DefaultValue | Should -Be 'False'
        ($m.Parameters | Where-Object Name -EQ WhatIf).Aliases | Should -Contain 'wi'
        $m.Parameters.Name | Should -Not -Contain 'Verbose'
        $w = Get-HelpCommandMetadata -Command (Get-Command Wait-DhubBatch)
        ($w.Parameters | Where-Object Name -EQ BatchId).Aliases | Should -Be @('Id')
        ($w.ParameterSets | Where-Object IsDefault).Name | Should -Be 'InputObject'
    }
}

Describe 'Help examples run against the emulator' -Tag 'Help' {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Dhub -StepSeconds 0.2
        # Examples of what only Prefect can do (logs, restart, time filters, the fleet view) run against the emulator's Prefect side.
        $script:P = Start-TestBackend -Backend Prefect -StepSeconds 0.2
        $script:ExampleRoot = Join-Path $TestDrive 'examples'

        function Test-PrefectExample([string] $Code) { $Code -match 'Get-DhubBatchLog|Restart-DhubBatch|-Since|-Until|Get-DhubPipeline|-NoSteps' }

        function Invoke-HelpExample {
            <#
            Runs one example's code in a fresh runspace with the assembled module, connected to the emulator unless
            the example connects itself (Connect-Dhub, DHUB_API_URL): its Prefect side when the example needs Prefect
            (Get-DhubBatchLog, Restart-DhubBatch, -Since/-Until, Get-DhubPipeline, -NoSteps), else its dhub side. Placeholders resolved here: the
            URL https://api.dhub.io (the emulator) and $token (the emulator's token as a SecureString).
            Returns the error records and the exception, if any.
            #>
            param([string] $Command, [int] $Number, [string] $Code)
            $target = if (Test-PrefectExample $Code) { $P } else { $T }
            $folder = New-Item -ItemType Directory -Force (Join-Path $ExampleRoot "$Command-$Number")
            $code = $Code.Replace('https://api.dhub.io', $T.ApiUri)
            $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
            $runspace = [runspacefactory]::CreateRunspace($iss)
            $runspace.Open()
            $ps = [powershell]::Create()
            $ps.Runspace = $runspace
            try {
                $null = $ps.AddScript({
                        param($ModuleManifest, $Folder, $TokenText)
                        Import-Module $ModuleManifest -ErrorAction Stop
                        Set-Location $Folder
                        $global:token = ConvertTo-SecureString -String $TokenText -AsPlainText -Force
                        $global:ProgressPreference = 'SilentlyContinue'
                    }).AddArgument((Join-Path (Get-TestModulePath) 'DhubBatches.psd1')).AddArgument($folder.FullName).AddArgument($target.TokenText)
                $null = $ps.Invoke()
                $ps.Commands.Clear()
                if ($code -notmatch 'Connect-Dhub|DHUB_API_URL') {
                    $null = $ps.AddCommand('Connect-Dhub').AddParameter('Uri', $target.ApiUri).AddParameter('Backend', $target.Backend).AddParameter('Token', $target.Token).AddParameter('ErrorAction', 'Stop')
                    $null = $ps.Invoke()
                    $ps.Commands.Clear()
                }
                $ps.Streams.Error.Clear()
                $exception = $null
                $output = $null
                try {
                    $output = $ps.AddScript($code).Invoke()
                }
                catch {
                    $exception = $_.Exception
                }
                [pscustomobject]@{
                    Errors    = @($ps.Streams.Error)
                    Exception = $exception
                    Output    = @($output)
                }
            }
            finally {
                $ps.Dispose()
                $runspace.Dispose()
                foreach ($name in 'DHUB_API_URL', 'DHUB_API_TOKEN', 'PREFECT_API_URL', 'PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING') {
                    [Environment]::SetEnvironmentVariable($name, $null)
                }
            }
        }
    }
    AfterAll {
        Stop-TestBackend $T
        Stop-TestBackend $P
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        # Every example starts from the same history: three finished batches and one running batch per pipeline (on
        # Prefect only the finished ones, so that the latest batch can be restarted).
        Reset-Emulator $T
        Reset-Emulator $P
        foreach ($pipeline in 'sales-pipeline', 'orders', 'inventory', 'failing-pipeline') {
            Add-EmulatorSeed $T $pipeline -Count 3
            Add-EmulatorSeed $T $pipeline -Count 1 -Running
            Add-EmulatorSeed $P $pipeline -Count 3
        }
    }

    It '<Command> example <Number> (<Title>) completes without errors' -ForEach $RunnableExamples {
        $result = Invoke-HelpExample -Command $Command -Number $Number -Code $Code
        $result.Exception | Should -BeNullOrEmpty -Because "the example threw: $(if ($result.Exception) { $result.Exception.Message })"
        $result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" } | Should -BeNullOrEmpty
    }

    It 'only examples that cannot run here are marked no-run (Prefect, prompts)' -ForEach @(@{ NoRunExamples = $NoRunExamples }) {
        $NoRunExamples.Count | Should -BeLessOrEqual 4
        foreach ($example in $NoRunExamples) {
            $example.Code | Should -Match 'Prefect|Read-Host|Get-Credential' -Because "$($example.Command) example $($example.Number) is marked no-run"
        }
    }

    It 'the harness catches an example that writes an error' {
        $result = Invoke-HelpExample -Command 'Harness' -Number 1 -Code 'Get-DhubBatch -PipelineId no-such-pipeline'
        @($result.Errors).Count | Should -Be 1
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubPipelineNotFound'
    }

    It 'examples exist to be run' -ForEach @(@{ RunnableExamples = $RunnableExamples }) {
        $RunnableExamples.Count | Should -BeGreaterOrEqual 25
    }
}
