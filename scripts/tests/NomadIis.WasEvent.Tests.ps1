#Requires -Version 5.1
<#
    Pester 5 tests of NomadIis.WasEvent.ps1: WAS event records turned into
    worker crashes and rapid-fail stops per pool, the stop reason, and the
    one case of Get-WinEvent failure that means "no events", with stand-ins
    for EventLogRecord (Id, Properties, TimeCreated).
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking

    # A stand-in for an EventLogRecord of Microsoft-Windows-WAS: %1 (the
    # pool's name) is the first of Properties, each with a Value.
    function New-WasRecord
    {
        param ([System.Int32] $Id, [System.String] $Pool, [System.DateTime] $Time)
        $properties = @(
            [pscustomobject] @{ Value = $Pool }
            [pscustomobject] @{ Value = '4242' }
        )
        return [pscustomobject] @{ Id = $Id; Properties = $properties; TimeCreated = $Time }
    }

    $script:T0 = New-Object -TypeName System.DateTime -ArgumentList 2026, 1, 2, 10, 0, 0, ([System.DateTimeKind]::Utc)
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'ConvertTo-WasEventSummary' {
    It 'counts 5009, 5010 and 5011 per pool, without case, and leaves other pools and ids out' {
        $events = @(
            New-WasRecord -Id 5009 -Pool 'nomad-a' -Time $script:T0
            New-WasRecord -Id 5010 -Pool 'NOMAD-A' -Time $script:T0.AddMinutes(1)
            New-WasRecord -Id 5011 -Pool 'nomad-a' -Time $script:T0.AddMinutes(2)
            New-WasRecord -Id 5009 -Pool 'nomad-b' -Time $script:T0
            New-WasRecord -Id 5009 -Pool 'other-pool' -Time $script:T0
            New-WasRecord -Id 5117 -Pool 'nomad-a' -Time $script:T0
        )
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Events = $events } -ScriptBlock {
            param ($Events)
            $summary = ConvertTo-WasEventSummary -Events $Events -Names @('nomad-A', 'nomad-b', 'nomad-c')
            $summary.Keys.Count | Should -Be 3
            $summary['nomad-a'].WorkerCrashes | Should -Be 3
            $summary['nomad-b'].WorkerCrashes | Should -Be 1
            $summary['nomad-c'].WorkerCrashes | Should -Be 0
            $summary['nomad-a'].LastRapidFailStop | Should -BeNullOrEmpty
            $summary.ContainsKey('other-pool') | Should -BeFalse
        }
    }

    It 'keeps the newest rapid-fail stop of a pool, in UTC, and does not count it as a crash' {
        $events = @(
            New-WasRecord -Id 5002 -Pool 'nomad-a' -Time $script:T0.AddMinutes(5)
            New-WasRecord -Id 5002 -Pool 'nomad-a' -Time $script:T0.AddMinutes(9)
            New-WasRecord -Id 5002 -Pool 'nomad-a' -Time $script:T0.AddMinutes(1)
        )
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Events = $events; Expected = $script:T0.AddMinutes(9) } -ScriptBlock {
            param ($Events, $Expected)
            $summary = ConvertTo-WasEventSummary -Events $Events -Names @('nomad-a')
            $summary['nomad-a'].WorkerCrashes | Should -Be 0
            $summary['nomad-a'].LastRapidFailStop | Should -Be $Expected
            $summary['nomad-a'].LastRapidFailStop.Kind | Should -Be ([System.DateTimeKind]::Utc)
        }
    }

    It 'skips records without insertion strings, $null records and empty names' {
        $events = @(
            [pscustomobject] @{ Id = 5009; Properties = @(); TimeCreated = $script:T0 }
            [pscustomobject] @{ Id = 5009; Properties = $null; TimeCreated = $script:T0 }
            $null
            New-WasRecord -Id 5009 -Pool '' -Time $script:T0
            New-WasRecord -Id 5009 -Pool 'nomad-a' -Time $script:T0
        )
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Events = $events } -ScriptBlock {
            param ($Events)
            $summary = ConvertTo-WasEventSummary -Events $Events -Names @('nomad-a', '')
            $summary.Keys.Count | Should -Be 1
            $summary['nomad-a'].WorkerCrashes | Should -Be 1
        }
    }

    It 'reports every pool asked with no events' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $summary = ConvertTo-WasEventSummary -Events @() -Names @('nomad-a')
            $summary['nomad-a'].WorkerCrashes | Should -Be 0
            $summary['nomad-a'].LastRapidFailStop | Should -BeNullOrEmpty
        }
    }
}

Describe 'Get-AppPoolStopReason' {
    It '<Case>' -TestCases @(
        @{ Case = 'a started pool has no reason'; State = 'Started'; Stop = 10; Seen = $null; Expected = '' }
        @{ Case = 'a stopped pool without a rapid-fail event has none'; State = 'Stopped'; Stop = $null; Seen = 5; Expected = '' }
        @{ Case = 'a rapid-fail event and no start seen is the reason'; State = 'Stopped'; Stop = 10; Seen = $null; Expected = 'RapidFailProtection' }
        @{ Case = 'a rapid-fail event after the last start seen is the reason'; State = 'Stopped'; Stop = 10; Seen = 5; Expected = 'RapidFailProtection' }
        @{ Case = 'a rapid-fail event before the last start seen is not'; State = 'Stopped'; Stop = 5; Seen = 10; Expected = '' }
        @{ Case = 'a stopping pool has no reason yet'; State = 'Stopping'; Stop = 10; Seen = 5; Expected = '' }
    ) {
        $stopTime = $null
        if ($null -ne $Stop)
        {
            $stopTime = $script:T0.AddMinutes($Stop)
        }
        $seenTime = $null
        if ($null -ne $Seen)
        {
            $seenTime = $script:T0.AddMinutes($Seen)
        }
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ State = $State; StopTime = $stopTime; SeenTime = $seenTime; Expected = $Expected } -ScriptBlock {
            param ($State, $StopTime, $SeenTime, $Expected)
            Get-AppPoolStopReason -State $State -LastRapidFailStop $StopTime -LastSeenStarted $SeenTime | Should -BeExactly $Expected
        }
    }
}

Describe 'Set-AppPoolSeenStarted' {
    It 'notes only a Started pool, by name without case' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            Set-AppPoolSeenStarted -Name 'nomad-seen' -State 'Stopped' -ReadAt $T0
            Get-AppPoolSeenStarted -Name 'nomad-seen' | Should -BeNullOrEmpty
            Set-AppPoolSeenStarted -Name 'Nomad-Seen' -State 'Started' -ReadAt $T0
            Get-AppPoolSeenStarted -Name 'nomad-SEEN' | Should -Be $T0
        }
    }
}

Describe 'Get-WasEvent' {
    It 'asks once for the WAS ids of the System log since the time, bounded by MaxEvents' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            Mock -CommandName Get-WinEvent -MockWith { @([pscustomobject] @{ Id = 5009 }) }
            $events = Get-WasEvent -Since $T0
            @($events).Count | Should -Be 1
            Should -Invoke -CommandName Get-WinEvent -Times 1 -Exactly -ParameterFilter {
                $FilterHashtable[0].LogName -eq 'System' -and
                $FilterHashtable[0].ProviderName -eq 'Microsoft-Windows-WAS' -and
                (@($FilterHashtable[0].Id) -join ',') -eq '5009,5010,5011,5002' -and
                $FilterHashtable[0].StartTime -eq $T0 -and
                $MaxEvents -eq 1000
            }
        }
    }

    It 'returns no events when Get-WinEvent finds none' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            Mock -CommandName Get-WinEvent -MockWith {
                $exception = New-Object -TypeName System.Exception -ArgumentList 'No events were found that match the specified selection criteria.'
                throw (New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand', ([System.Management.Automation.ErrorCategory]::ObjectNotFound), $null)
            }
            $events = Get-WasEvent -Since $T0
            @($events).Count | Should -Be 0
        }
    }

    It 'fails as Unavailable, naming the log, on any other error' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            Mock -CommandName Get-WinEvent -MockWith {
                $exception = New-Object -TypeName System.UnauthorizedAccessException -ArgumentList 'Attempted to perform an unauthorized operation.'
                throw (New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'System.UnauthorizedAccessException,Microsoft.PowerShell.Commands.GetWinEventCommand', ([System.Management.Automation.ErrorCategory]::NotSpecified), $null)
            }
            $caught = $null
            try
            {
                $null = Get-WasEvent -Since $T0
            }
            catch
            {
                $caught = $_
            }
            $caught | Should -Not -BeNullOrEmpty
            $caught.Exception.Data['NomadIisKind'] | Should -BeExactly 'Unavailable'
            $caught.Exception.Message | Should -BeLike '*System log*unauthorized operation*'
        }
    }
}

Describe 'ConvertTo-AppPoolResult' {
    It 'reports the crashes and the rapid-fail stop of a pool not seen started since' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            $pool = [pscustomobject] @{ Name = 'nomad-rf1'; State = 'Stopped'; StartMode = 'OnDemand'; WorkerProcesses = @() }
            $summary = @{ 'nomad-rf1' = [pscustomobject] @{ WorkerCrashes = 5; LastRapidFailStop = $T0 } }
            $result = ConvertTo-AppPoolResult -Pool $pool -EventSummary $summary
            $result.state | Should -BeExactly 'Stopped'
            $result.workerCrashes | Should -Be 5
            $result.stopReason | Should -BeExactly 'RapidFailProtection'
        }
    }

    It 'does not blame rapid-fail protection for a stop after a later start it saw' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0 } -ScriptBlock {
            param ($T0)
            $pool = [pscustomobject] @{ Name = 'nomad-rf2'; State = 'Started'; StartMode = 'OnDemand'; WorkerProcesses = @() }
            $summary = @{ 'nomad-rf2' = [pscustomobject] @{ WorkerCrashes = 5; LastRapidFailStop = $T0 } }
            $null = ConvertTo-AppPoolResult -Pool $pool -EventSummary $summary -State 'Started' -ReadAt $T0.AddMinutes(1)
            $pool.State = 'Stopped'
            $result = ConvertTo-AppPoolResult -Pool $pool -EventSummary $summary
            $result.state | Should -BeExactly 'Stopped'
            $result.stopReason | Should -BeExactly ''
        }
    }

    It 'reports 0 and no reason without an event summary' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $pool = [pscustomobject] @{ Name = 'nomad-rf3'; State = 'Stopped'; StartMode = 'OnDemand'; WorkerProcesses = @() }
            $result = ConvertTo-AppPoolResult -Pool $pool
            $result.workerCrashes | Should -Be 0
            $result.stopReason | Should -BeExactly ''
        }
    }
}

Describe 'Get-NomadIisAppPool' {
    It 'reads the events once for all the pools asked, since the service started' {
        $records = @(
            New-WasRecord -Id 5009 -Pool 'nomad-x1' -Time $script:T0.AddMinutes(1)
            New-WasRecord -Id 5009 -Pool 'nomad-x2' -Time $script:T0.AddMinutes(2)
            New-WasRecord -Id 5010 -Pool 'nomad-x2' -Time $script:T0.AddMinutes(3)
            New-WasRecord -Id 5002 -Pool 'nomad-x2' -Time $script:T0.AddMinutes(4)
        )
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ T0 = $script:T0; Records = $records } -ScriptBlock {
            param ($T0, $Records)
            $pools = @(
                [pscustomobject] @{ Name = 'nomad-x1'; State = 'Started'; StartMode = 'OnDemand'; WorkerProcesses = @() }
                [pscustomobject] @{ Name = 'nomad-x2'; State = 'Stopped'; StartMode = 'OnDemand'; WorkerProcesses = @() }
            )
            Mock -CommandName Get-ServerManager -MockWith { [pscustomobject] @{ ApplicationPools = $pools } }
            Mock -CommandName Find-AppPool -MockWith { $pools | Where-Object -FilterScript { $_.Name -eq $Name } }
            Mock -CommandName Get-WebServiceStartTime -MockWith { $T0 }
            Mock -CommandName Get-WinEvent -MockWith { $Records }
            $result = Get-NomadIisAppPool -Names 'nomad-x1', 'nomad-x2'
            @($result).Count | Should -Be 2
            $result[0].workerCrashes | Should -Be 1
            $result[0].stopReason | Should -BeExactly ''
            $result[1].workerCrashes | Should -Be 2
            $result[1].stopReason | Should -BeExactly 'RapidFailProtection'
            Should -Invoke -CommandName Get-WinEvent -Times 1 -Exactly -ParameterFilter { $FilterHashtable[0].StartTime -eq $T0 }
        }
    }

    It 'reports no crashes and reads no events when the service is not running' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $pools = @([pscustomobject] @{ Name = 'nomad-y1'; State = 'Started'; StartMode = 'OnDemand'; WorkerProcesses = @() })
            Mock -CommandName Get-ServerManager -MockWith { [pscustomobject] @{ ApplicationPools = $pools } }
            Mock -CommandName Get-WebServiceStartTime -MockWith { $null }
            Mock -CommandName Get-WinEvent -MockWith { throw 'not expected' }
            $result = Get-NomadIisAppPool
            $result[0].workerCrashes | Should -Be 0
            Should -Invoke -CommandName Get-WinEvent -Times 0 -Exactly
        }
    }
}
