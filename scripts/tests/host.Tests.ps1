#Requires -Version 5.1
<#
    Pester 5 tests of host.ps1's framing: the script runs as the driver
    starts it, with a stub NomadIis.psm1 next to it whose operations need
    no IIS, and the test speaks the protocol on its stdin and stdout.
#>

BeforeAll {
    $directory = Join-Path -Path $TestDrive -ChildPath 'host'
    $null = New-Item -ItemType Directory -Path $directory
    Copy-Item -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '..\host.ps1') -Destination $directory
    # The stub module: the registry host.ps1 fills, and five operations.
    Set-Content -LiteralPath (Join-Path -Path $directory -ChildPath 'NomadIis.psm1') -Encoding Ascii -Value @'
$ErrorActionPreference = 'Stop'
function Set-ExtensionRegistry { param ($Directory, $Extensions) }
function Get-NomadIisEcho
{
    [CmdletBinding()]
    param ([Parameter(Mandatory = $true)] [System.String] $Text, [System.Object[]] $AppPools)
    [ordered] @{ text = $Text }
}
function New-NomadIisThing
{
    [CmdletBinding()]
    param ([System.Object[]] $AppPools)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList 'IIS refused the value s3cr3t-value'
    $exception.Data['NomadIisKind'] = 'Conflict'
    throw (New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'NomadIis.Conflict', ([System.Management.Automation.ErrorCategory]::ResourceExists), $null)
}
function Write-NomadIisStray
{
    [CmdletBinding()]
    param ()
    [System.Console]::Write('stray without newline')
    [ordered] @{ done = $true }
}
function Set-NomadIisList
{
    [CmdletBinding()]
    param ([Parameter(Mandatory = $true)] [System.String[]] $Names)
    [ordered] @{ count = $Names.Length }
}
Export-ModuleMember -Function 'Set-ExtensionRegistry', 'Get-NomadIisEcho', 'New-NomadIisThing', 'Write-NomadIisStray', 'Set-NomadIisList'
'@

    $start = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $start.FileName = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $start.Arguments = '-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f (Join-Path -Path $directory -ChildPath 'host.ps1')
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.StandardOutputEncoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    $script:HostProcess = [System.Diagnostics.Process]::Start($start)
    # stderr is drained so that the host never blocks on it.
    $script:Stderr = $script:HostProcess.StandardError.ReadToEndAsync()
    $script:HostInput = New-Object -TypeName System.IO.StreamWriter -ArgumentList $script:HostProcess.StandardInput.BaseStream, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false)
    $script:HostInput.NewLine = "`n"
    $script:HostInput.AutoFlush = $true
    $script:Stray = New-Object -TypeName System.Collections.Generic.List[System.String]

    # Reads lines until the frame with the id; other non-empty lines are
    # stray output. Fails after 60 seconds without a line.
    function Read-Frame
    {
        param ([System.Int64] $Id)
        while ($true)
        {
            $next = $script:HostProcess.StandardOutput.ReadLineAsync()
            if (-not $next.Wait(60000))
            {
                throw "no answer to request $Id within 60 seconds"
            }
            $line = $next.Result
            if ($null -eq $line)
            {
                throw "host.ps1 ended before answering request $Id"
            }
            if ($line.Trim().Length -eq 0)
            {
                continue
            }
            if ($line.StartsWith('{') -and $line.EndsWith('}'))
            {
                $frame = ConvertFrom-Json -InputObject $line
                if ($frame.id -eq $Id)
                {
                    return $frame
                }
            }
            $script:Stray.Add($line)
        }
    }

    function Invoke-Request
    {
        param ([System.Int64] $Id, [System.String] $Line)
        $script:HostInput.WriteLine($Line)
        return Read-Frame -Id $Id
    }

    $script:Ready = Read-Frame -Id 0
}

AfterAll {
    if ($null -ne $script:HostProcess)
    {
        $script:HostInput.Close()
        if (-not $script:HostProcess.WaitForExit(30000))
        {
            $script:HostProcess.Kill()
        }
    }
}

Describe 'host.ps1' {
    It 'announces itself with a ready frame' {
        $script:Ready.ok | Should -BeTrue
        $script:Ready.result.backend | Should -BeExactly 'iis'
        $script:Ready.result.processId | Should -Be $script:HostProcess.Id
    }

    It 'serves an operation with its arguments as parameters' {
        $frame = Invoke-Request -Id 1 -Line '{"id":1,"op":"GetEcho","args":{"text":"hi"}}'
        $frame.ok | Should -BeTrue
        $frame.result.text | Should -BeExactly 'hi'
    }

    It 'serves a request whose environment variables have empty values' {
        $frame = Invoke-Request -Id 2 -Line '{"id":2,"op":"GetEcho","args":{"text":"env","appPools":[{"name":"p","environmentVariables":[{"name":"EMPTY","value":""},{"name":"S","value":"s3cr3t-value"}]}]}}'
        $frame.ok | Should -BeTrue
        $frame.result.text | Should -BeExactly 'env'
    }

    It 'keeps the kind of an error and redacts secret values from its message' {
        $frame = Invoke-Request -Id 3 -Line '{"id":3,"op":"NewThing","args":{"appPools":[{"name":"p","environmentVariables":[{"name":"S","value":"s3cr3t-value"},{"name":"E","value":""}]}]}}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'Conflict'
        $frame.error.message | Should -BeExactly 'IIS refused the value ***'
    }

    It 'answers an unknown operation with InvalidArgument' {
        $frame = Invoke-Request -Id 4 -Line '{"id":4,"op":"GetNothing"}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
        $frame.error.message | Should -BeLike "*unknown operation 'GetNothing'*"
    }

    It 'answers an argument the operation does not take with InvalidArgument' {
        $frame = Invoke-Request -Id 5 -Line '{"id":5,"op":"GetEcho","args":{"text":"x","colour":"blue"}}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
    }

    It 'starts every frame on a line of its own after stray console output' {
        $frame = Invoke-Request -Id 6 -Line '{"id":6,"op":"WriteStray"}'
        $frame.ok | Should -BeTrue
        $frame.result.done | Should -BeTrue
        $script:Stray | Should -Contain 'stray without newline'
    }

    It 'answers a request that is not JSON with its id' {
        $frame = Invoke-Request -Id 7 -Line '{"id":7,"op":'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
    }

    # The module's operations keep the binder's refusal of an empty
    # mandatory value (marked "# pscheck: checked" in the module): the
    # refusal is raised on the operation itself, which host.ps1 answers
    # with InvalidArgument naming the parameter, never Internal.
    It 'answers an empty string for a mandatory parameter with InvalidArgument naming it' {
        $frame = Invoke-Request -Id 8 -Line '{"id":8,"op":"GetEcho","args":{"text":""}}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
        $frame.error.message | Should -BeLike "*'Text'*"
    }

    It 'answers an empty list for a mandatory parameter with InvalidArgument naming it' {
        $frame = Invoke-Request -Id 9 -Line '{"id":9,"op":"SetList","args":{"names":[]}}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
        $frame.error.message | Should -BeLike "*'Names'*"
    }

    It 'answers an empty string in a mandatory list with InvalidArgument naming it' {
        $frame = Invoke-Request -Id 10 -Line '{"id":10,"op":"SetList","args":{"names":["a",""]}}'
        $frame.ok | Should -BeFalse
        $frame.error.kind | Should -BeExactly 'InvalidArgument'
        $frame.error.message | Should -BeLike "*'Names'*"
    }

    It 'ends when its input ends' {
        $script:HostInput.Close()
        $script:HostProcess.WaitForExit(30000) | Should -BeTrue
        $script:HostProcess.ExitCode | Should -Be 0
    }
}
